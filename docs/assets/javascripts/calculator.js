/*
 * Conv Atlas shape and cost calculator (plain JavaScript, no dependencies, works offline).
 *
 * A line-by-line port of snippets/formulas.py and snippets/calculator.py: the same checks in
 * the same order, so every row shows the same number, or the same first error, as Python.
 * The checks, the error messages and the output sizes live in conv-formulas.js (shared with
 * the convolution explorer), which the page loads first.
 * Integers are BigInt, so multiply-adds of any size are exact. tests/test_calculator.py
 * fills the form in a real browser with hundreds of configurations and compares.
 *
 * Markup it drives (see docs/calculator.md): a <form data-conv-calc> whose inputs are named
 * like the Python arguments, and elements [data-kind][data-field] for the results.
 */
(function () {
  "use strict";

  var KINDS = ["standard", "separable", "grouped", "dilated", "transposed", "dynamic"];
  // The form's number inputs, named like the Python arguments, in URL order (plus "bias").
  var FIELDS = ["batch", "height", "width", "in_channels", "out_channels", "kernel_size",
    "stride", "padding", "dilation", "groups", "output_padding", "num_kernels", "reduction"];

  var F = window.convFormulas;   // conv-formulas.js: the checks and sizes of snippets/formulas.py
  var FormulaError = F.FormulaError, message = F.message, positive = F.positive,
    checkGroups = F.checkGroups, convOutputSize = F.convOutputSize,
    convTransposeOutputSize = F.convTransposeOutputSize, parse = F.parse, pageLang = F.pageLang;

  // --- parameters and multiply-adds (square kernels: kh = kw = k) --------------------------
  function conv2dParams(cin, cout, k, groups, bias) {
    checkGroups(cin, cout, groups);
    positive("kernel_size", k);
    positive("kernel_size", k);
    return cout * (cin / groups) * k * k + (bias ? cout : 0n);
  }

  function conv2dMacs(cin, cout, k, oh, ow, groups, batch) {
    checkGroups(cin, cout, groups);
    positive("kernel_size", k);
    positive("kernel_size", k);
    positive("output_size", oh);
    positive("output_size", ow);
    positive("batch", batch);
    return batch * oh * ow * k * k * (cin / groups) * cout;
  }

  function convTranspose2dMacs(cin, cout, k, ih, iw, groups, batch) {
    checkGroups(cin, cout, groups);
    positive("kernel_size", k);
    positive("kernel_size", k);
    positive("input_size", ih, "height");
    positive("input_size", iw, "width");
    positive("batch", batch);
    return batch * ih * iw * k * k * cin * (cout / groups);
  }

  function separableParams(cin, cout, k) {
    return conv2dParams(cin, cin, k, cin, false) + conv2dParams(cin, cout, 1n, 1n, false);
  }

  function separableMacs(cin, cout, k, oh, ow, batch) {
    return conv2dMacs(cin, cin, k, oh, ow, cin, batch) + conv2dMacs(cin, cout, 1n, oh, ow, 1n, batch);
  }

  function dynamicAttentionHidden(cin, r) {
    positive("in_channels", cin);
    positive("reduction", r);
    var h = cin / r;
    return h > 4n ? h : 4n;
  }

  function dynamicConv2dParams(cin, cout, k, groups, bias, K, r) {
    positive("num_kernels", K);
    var h = dynamicAttentionHidden(cin, r);
    var kernels = K * conv2dParams(cin, cout, k, groups, bias);
    var attention = (cin * h + h) + (h * K + K);
    return kernels + attention;
  }

  function dynamicConv2dMacs(cin, cout, k, oh, ow, groups, bias, K, r, batch) {
    var h = dynamicAttentionHidden(cin, r);
    var conv = conv2dMacs(cin, cout, k, oh, ow, groups, batch);
    var attention = batch * (cin * h + h * K);
    var weights = conv2dParams(cin, cout, k, groups, bias);
    return conv + attention + batch * K * weights;
  }

  // --- the six rows (snippets/calculator.py) -----------------------------------------------
  function layer(shape, params, macs) { return { shape: shape, params: params, macs: macs }; }

  function standard(c, groups, dilation) {
    var ho = convOutputSize(c.height, c.kernel_size, c.stride, c.padding, dilation, "height");
    var wo = convOutputSize(c.width, c.kernel_size, c.stride, c.padding, dilation, "width");
    var params = conv2dParams(c.in_channels, c.out_channels, c.kernel_size, groups, c.bias);
    var macs = conv2dMacs(c.in_channels, c.out_channels, c.kernel_size, ho, wo, groups, c.batch);
    return layer([c.batch, c.out_channels, ho, wo], params, macs);
  }

  function separable(c) {
    var ho = convOutputSize(c.height, c.kernel_size, c.stride, c.padding, 1n, "height");
    var wo = convOutputSize(c.width, c.kernel_size, c.stride, c.padding, 1n, "width");
    var params = separableParams(c.in_channels, c.out_channels, c.kernel_size);
    params += c.bias ? c.in_channels + c.out_channels : 0n;   // depthwise + pointwise biases
    var macs = separableMacs(c.in_channels, c.out_channels, c.kernel_size, ho, wo, c.batch);
    return layer([c.batch, c.out_channels, ho, wo], params, macs);
  }

  function transposed(c) {
    var ho = convTransposeOutputSize(c.height, c.kernel_size, c.stride, c.padding,
      c.output_padding, 1n, "height");
    var wo = convTransposeOutputSize(c.width, c.kernel_size, c.stride, c.padding,
      c.output_padding, 1n, "width");
    var params = conv2dParams(c.in_channels, c.out_channels, c.kernel_size, 1n, c.bias);
    var macs = convTranspose2dMacs(c.in_channels, c.out_channels, c.kernel_size, c.height,
      c.width, 1n, c.batch);
    return layer([c.batch, c.out_channels, ho, wo], params, macs);
  }

  function dynamic(c) {
    var ho = convOutputSize(c.height, c.kernel_size, c.stride, c.padding, 1n, "height");
    var wo = convOutputSize(c.width, c.kernel_size, c.stride, c.padding, 1n, "width");
    var params = dynamicConv2dParams(c.in_channels, c.out_channels, c.kernel_size, 1n, c.bias,
      c.num_kernels, c.reduction);
    var macs = dynamicConv2dMacs(c.in_channels, c.out_channels, c.kernel_size, ho, wo, 1n,
      c.bias, c.num_kernels, c.reduction, c.batch);
    return layer([c.batch, c.out_channels, ho, wo], params, macs);
  }

  var BUILD = {
    standard: function (c) { return standard(c, 1n, 1n); },
    separable: separable,
    grouped: function (c) { return standard(c, c.groups, 1n); },
    dilated: function (c) { return standard(c, 1n, c.dilation); },
    transposed: transposed,
    dynamic: dynamic,
  };

  function calculatorRows(c) {
    var rows = {};
    KINDS.forEach(function (kind) {
      try {
        rows[kind] = BUILD[kind](c);
      } catch (err) {
        if (!(err instanceof FormulaError)) throw err;
        rows[kind] = err;
      }
    });
    return rows;
  }

  // --- reading the form --------------------------------------------------------------------
  function readForm(form) {
    var c = {};
    FIELDS.forEach(function (f) { c[f] = parse(form.elements[f].value); });
    c.bias = form.elements.bias.checked;
    return c;
  }

  // --- formatting (the test parses these back) ---------------------------------------------
  function thousands(n) {
    return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  var SUPERSCRIPT = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵",
    "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹" };

  // A ratio of two positive BigInts: 4 significant digits (trailing zeros dropped), whole
  // numbers with thousands separators from 1000 on, and ×10⁻ⁿ below 10⁻⁶.
  function formatRatio(a, b) {
    var r = Number(a) / Number(b);
    if (r >= 1000) return thousands(BigInt(Math.round(r)));
    var text = r.toPrecision(4);
    var parts = text.split("e");
    var mantissa = parts[0].indexOf(".") >= 0 ? parts[0].replace(/\.?0+$/, "") : parts[0];
    if (parts.length === 1) return mantissa;
    var exponent = String(Number(parts[1])).split("").map(function (ch) {
      return SUPERSCRIPT[ch];
    }).join("");
    return mantissa + "×10" + exponent;
  }

  // --- showing the results -----------------------------------------------------------------
  var DASH = "—";

  function slot(root, kind, field) {
    return root.querySelector('[data-kind="' + kind + '"][data-field="' + field + '"]');
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function render(form, root, rows, lang) {
    var std = rows.standard;
    var stdOk = !(std instanceof FormulaError);
    var invalid = {};
    KINDS.forEach(function (kind) {
      var row = rows[kind];
      var error = slot(root, kind, "error");
      var container = root.querySelector('[data-calc-row="' + kind + '"]');
      if (row instanceof FormulaError) {
        ["shape", "params", "macs", "params-ratio", "macs-ratio"].forEach(function (field) {
          setText(slot(root, kind, field), DASH);
        });
        setText(error, message(row, lang));
        if (error) error.hidden = false;
        if (container) container.classList.add("calc-invalid");
        row.fields.forEach(function (name) { invalid[name] = true; });
        return;
      }
      if (error) { error.hidden = true; setText(error, ""); }
      if (container) container.classList.remove("calc-invalid");
      setText(slot(root, kind, "shape"), row.shape.join(" × "));
      setText(slot(root, kind, "params"), thousands(row.params));
      setText(slot(root, kind, "macs"), thousands(row.macs));
      setText(slot(root, kind, "params-ratio"), stdOk ? formatRatio(row.params, std.params) : DASH);
      setText(slot(root, kind, "macs-ratio"), stdOk ? formatRatio(row.macs, std.macs) : DASH);
    });
    FIELDS.forEach(function (f) {
      var input = form.elements[f];
      if (invalid[f]) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }

  // --- the permalink -----------------------------------------------------------------------
  function query(form) {
    var params = new URLSearchParams();
    FIELDS.forEach(function (f) { params.set(f, form.elements[f].value); });
    params.set("bias", form.elements.bias.checked ? "1" : "0");
    return params.toString();
  }

  function fillFromUrl(form) {
    var params = new URLSearchParams(window.location.search);
    FIELDS.forEach(function (f) {
      if (params.has(f)) form.elements[f].value = params.get(f);
    });
    if (params.has("bias")) {
      form.elements.bias.checked = ["1", "true", "yes", "on"].indexOf(params.get("bias")) >= 0;
    }
  }

  function updateLinks(form, search) {
    var url = window.location.pathname + "?" + search + window.location.hash;
    if (window.history && window.history.replaceState) {
      window.history.replaceState(window.history.state, "", url);
    }
    var link = form.querySelector("[data-calc-permalink]");
    if (link) link.href = url;
    // the language switcher keeps the configuration too
    document.querySelectorAll("a[hreflang]").forEach(function (a) {
      var target = new URL(a.getAttribute("href"), window.location.href);
      if (target.origin !== window.location.origin) return;
      target.search = search;
      a.href = target.pathname + target.search + target.hash;
    });
  }

  // --- wiring ------------------------------------------------------------------------------
  function init(form) {
    if (form.dataset.calcReady) return;   // guard against running twice on one page
    form.dataset.calcReady = "1";
    var root = document.querySelector(form.dataset.convCalcResults || "body") || document.body;
    var lang = pageLang();
    fillFromUrl(form);

    function update() {
      render(form, root, calculatorRows(readForm(form)), lang);
      updateLinks(form, query(form));
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
    form.addEventListener("reset", function () {
      // after the browser has put the defaults back
      window.setTimeout(update, 0);
    });
    var copy = form.querySelector("[data-calc-copy]");
    if (copy && navigator.clipboard) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(window.location.href).then(function () {
          copy.classList.add("calc-copied");
          window.setTimeout(function () { copy.classList.remove("calc-copied"); }, 1500);
        });
      });
    }
    update();
  }

  function initAll() {
    document.querySelectorAll("form[data-conv-calc]").forEach(init);
  }

  // For tests and the curious: the same functions the page uses.
  window.convCalc = { rows: calculatorRows, parse: parse, message: message,
    formatRatio: formatRatio, FormulaError: FormulaError, KINDS: KINDS, FIELDS: FIELDS };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
