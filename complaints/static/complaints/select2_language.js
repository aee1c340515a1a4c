// Select2's messages ("Searching…", "Remove all items") in the page's language.
// Unfold's widgets add select2.full.js beside Django's select2.full.min.js. The copy that
// runs the widgets is the first; the translation file registers into the second one's module
// loader, so every autocomplete spoke English on a zh-Hans page. Before any widget starts
// (this listener is registered in <head>, before jQuery's), the translation the page loaded
// becomes the running copy's default language.
document.addEventListener("DOMContentLoaded", () => {
  const $ = window.django && window.django.jQuery;
  if (!$ || !$.fn.select2 || !$.fn.select2.amd || !$.fn.select2.defaults) {
    return;
  }
  const lang = (document.documentElement.lang || "").toLowerCase();
  const name = { "zh-hans": "zh-CN", "zh-cn": "zh-CN", "zh-hant": "zh-TW" }[lang] || lang;
  try {
    const messages = $.fn.select2.amd.require(`select2/i18n/${name}`);
    $.fn.select2.defaults.set("language", messages);
  } catch (error) {
    // No translation loaded for this language: Select2's English stays.
  }
});
