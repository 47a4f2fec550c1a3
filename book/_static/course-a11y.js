// Accessible names for widget controls in the book.
// ipywidgets draws a slider as a <div role="slider"> handle with no name of its own: its
// description sits in a separate label element, so a screen reader announces only
// "slider, 3". Give every such control the text of its widget's label (or, without one, its
// widget's tooltip). Widgets render after the page loads, so newly drawn ones are named too.
(function () {
  "use strict";
  var ROLES = '[role="slider"], [role="spinbutton"], [role="combobox"], [role="listbox"], ' +
              '[role="textbox"], [role="searchbox"]';

  function nameOf(control) {
    var widget = control.closest(".widget-inline-hbox, .widget-slider, .jupyter-widgets");
    var label = widget && widget.querySelector(".widget-label");
    var text = label ? label.textContent.trim() : "";
    if (!text && widget) text = (widget.getAttribute("title") || "").trim();
    return text || "value";
  }

  function nameControls(root) {
    root.querySelectorAll(ROLES).forEach(function (control) {
      if (!control.getAttribute("aria-label") && !control.getAttribute("aria-labelledby")) {
        control.setAttribute("aria-label", nameOf(control));
      }
    });
  }

  function start() {
    nameControls(document);
    new MutationObserver(function () { nameControls(document); })
      .observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
