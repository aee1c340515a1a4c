// Complaint page helpers (no inline scripts: the CSP allows only files from this site).
// - Reply templates: a picker fills the text box of the contact or note form with the
//   template's text, already filled in for this complaint by the server, in the chosen
//   language. Text typed meanwhile is kept (the template is added below it).
// - Timeline: "Show older" loads the next page of events in place.
(function () {
  "use strict";

  function setupPicker(picker) {
    var data = document.getElementById(picker.dataset.options);
    var target = document.getElementById(picker.dataset.target);
    var language = document.getElementById(picker.dataset.language);
    if (!data || !target) return;
    var options = JSON.parse(data.textContent);
    var byId = {};
    options.forEach(function (option) { byId[String(option.id)] = option; });
    var inserted = null; // the text the picker put in, to switch its language in place

    function textOf(id) {
      var option = byId[id];
      if (!option) return null;
      var lang = language ? language.value : "zh-hans";
      return option.texts[lang] || option.texts["zh-hans"] || option.texts.en || "";
    }

    function apply() {
      var text = textOf(picker.value);
      if (text === null) return;
      var current = target.value;
      if (!current.trim() || current === inserted) {
        target.value = text;
      } else {
        target.value = current.replace(/\s+$/, "") + "\n\n" + text;
      }
      inserted = target.value;
      target.dispatchEvent(new Event("input", { bubbles: true }));
      target.focus();
    }

    picker.addEventListener("change", apply);
    if (language) {
      language.addEventListener("change", function () {
        if (picker.value && (target.value === inserted || !target.value.trim())) {
          target.value = "";
          apply();
        }
      });
    }
  }

  function setupOlder(root) {
    root.addEventListener("click", function (event) {
      var link = event.target.closest("a.timeline-older");
      if (!link) return;
      event.preventDefault();
      link.setAttribute("aria-busy", "true");
      fetch(link.dataset.fragment, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = link.closest("li");
          var template = document.createElement("template");
          template.innerHTML = html;
          holder.replaceWith(template.content);
        })
        .catch(function () {
          window.location.href = link.href; // the full page of older events
        });
    });
  }

  function init() {
    document.querySelectorAll("select.reply-template-picker").forEach(setupPicker);
    var timeline = document.getElementById("timeline-events");
    if (timeline) setupOlder(timeline);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
