// ipywidgets' html-manager (1.x) typesets widget labels with the MathJax 2 API,
// `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`. The book uses MathJax 3, which has no
// `Hub`, so every widget would throw. Give each MathJax object (Sphinx's config object, then
// MathJax 3 itself, which replaces it on start-up) a small `Hub` that forwards to MathJax 3.
(function () {
  "use strict";
  function addHub(mathjax) {
    if (mathjax && typeof mathjax === "object" && !mathjax.Hub) {
      mathjax.Hub = {
        Queue: function (job) {
          var element = Array.isArray(job) ? job[2] : null;
          var ready = mathjax.startup && mathjax.startup.promise;
          if (element && ready && typeof mathjax.typesetPromise === "function") {
            ready.then(function () { return mathjax.typesetPromise([element]); })
                 .catch(function () { /* a label that is not maths: nothing to do */ });
          }
        },
      };
    }
    return mathjax;
  }
  var current = addHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = addHub(value); },
  });
})();
