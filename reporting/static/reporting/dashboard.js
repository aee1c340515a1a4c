/* Draws the dashboard's charts from the JSON in #reporting-data (Chart.js, shipped as a
   static file). Clicking a bar or a point opens the complaint list behind it. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("reporting-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var muted = "#6b7280";
    Chart.defaults.color = muted;
    Chart.defaults.font.size = 11;
    Chart.defaults.animation = false; // print what is shown, at once

    function open(links) {
      return function (event, elements) {
        if (!elements.length) return;
        var el = elements[0];
        var link = links(el.datasetIndex, el.index);
        if (link) window.location.href = link;
      };
    }

    function chart(id, config) {
      var canvas = document.getElementById(id);
      if (!canvas) return;
      config.options = Object.assign(
        { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "bottom" } } },
        config.options || {}
      );
      new Chart(canvas, config);
    }

    var volume = data.volume;
    chart("chart-volume", {
      type: "bar",
      data: {
        labels: volume.labels,
        datasets: volume.datasets.map(function (ds) {
          return { label: ds.label, data: ds.data, backgroundColor: ds.color };
        }),
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
        onClick: open(function (d, i) { return volume.datasets[d].links[i]; }),
      },
    });

    var pareto = data.pareto;
    chart("chart-pareto", {
      type: "bar",
      data: {
        labels: pareto.map(function (r) { return r.label; }),
        datasets: [
          { type: "bar", label: "n", data: pareto.map(function (r) { return r.n; }), backgroundColor: "#3b82f6", yAxisID: "y" },
          { type: "line", label: "%", data: pareto.map(function (r) { return r.cumulative; }), borderColor: "#f59e0b", backgroundColor: "#f59e0b", yAxisID: "pct" },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true }, pct: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } },
        onClick: open(function (d, i) { return pareto[i].link; }),
      },
    });

    function simpleBar(id, rows, colour, horizontal) {
      chart(id, {
        type: "bar",
        data: {
          labels: rows.map(function (r) { return r.label; }),
          datasets: [{ label: "n", data: rows.map(function (r) { return r.n; }), backgroundColor: colour }],
        },
        options: {
          indexAxis: horizontal ? "y" : "x",
          plugins: { legend: { display: false } },
          onClick: open(function (d, i) { return rows[i].link; }),
        },
      });
    }
    simpleBar("chart-channels", data.channels, "#6366f1", false);
    simpleBar("chart-backlog", data.backlog, "#f97316", false);
    simpleBar("chart-causes", data.causes, "#14b8a6", true);

    var sla = data.sla;
    chart("chart-sla", {
      type: "line",
      data: {
        labels: sla.labels,
        datasets: sla.datasets.map(function (ds) {
          return { label: ds.label, data: ds.data, borderColor: ds.color, backgroundColor: ds.color, spanGaps: true };
        }),
      },
      options: {
        scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } } },
        onClick: open(function (d, i) { return sla.datasets[d].links[i]; }),
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
