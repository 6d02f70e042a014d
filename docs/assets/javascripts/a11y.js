/* Boxes that scroll sideways (notebook code and outputs, wide tables, long formulas) can be
 * scrolled with the keyboard only when they take focus: give each one that overflows, and
 * holds nothing focusable of its own, a place in the Tab order (WCAG 2.1.1; axe-core's
 * scrollable-region-focusable). Checked again when the window is resized, since a phone
 * makes more boxes overflow. tests/test_accessibility.py checks the result on every page. */
(function () {
  "use strict";
  var CANDIDATES = "article pre, article div, article table, article .katex-display";
  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function scrolls(el, style) {
    var x = /(auto|scroll)/.test(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    var y = /(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
    return x || y;
  }

  function update() {
    var boxes = document.querySelectorAll(CANDIDATES);
    for (var i = 0; i < boxes.length; i++) {
      var el = boxes[i];
      var added = el.hasAttribute("data-scroll-focus");
      if (el.hasAttribute("tabindex") && !added) continue;      // focusable already
      var needs = scrolls(el, getComputedStyle(el)) && !el.querySelector(FOCUSABLE);
      if (needs && !added) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "");
      } else if (!needs && added) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
      }
    }
  }

  var pending = 0;
  function later() {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(update);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
  window.addEventListener("load", update);
  window.addEventListener("resize", later);
  // Opening a collapsed block or switching a content tab shows boxes that were hidden.
  document.addEventListener("toggle", later, true);
  document.addEventListener("change", later, true);
})();
