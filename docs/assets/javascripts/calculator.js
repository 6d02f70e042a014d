/*
 * Conv Atlas shape and cost calculator (plain JavaScript, no dependencies, works offline).
 *
 * A line-by-line port of snippets/formulas.py and snippets/calculator.py: the same checks in
 * the same order, so every row shows the same number, or the same first error, as Python.
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

  // --- errors: the ValueErrors of snippets.formulas, in English exactly, and in Chinese ----
  function FormulaError(code, args, fields) {
    this.code = code;
    this.args = args;
    this.fields = fields || [];   // form inputs to mark as invalid
  }

  var MESSAGES = {
    integer: {
      en: function (a) { return a.name + " must be an integer, got " + a.got; },
      zh: function (a) {
        return a.name + " 必须是整数，" + (a.got === "''" ? "现在是空的" : "现在是 " + a.got);
      },
    },
    positive: {
      en: function (a) { return a.name + " must be a positive integer, got " + a.value; },
      zh: function (a) { return a.name + " 必须是正整数，现在是 " + a.value; },
    },
    non_negative: {
      en: function (a) { return a.name + " must be zero or positive, got " + a.value; },
      zh: function (a) { return a.name + " 不能为负数，现在是 " + a.value; },
    },
    divisible: {
      en: function (a) {
        return a.name + " (" + a.value + ") must be divisible by groups (" + a.groups + ")";
      },
      zh: function (a) {
        return a.name + "（" + a.value + "）必须能被 groups（" + a.groups + "）整除";
      },
    },
    span: {
      en: function (a) {
        return "kernel span " + a.span + " (kernel_size " + a.k + ", dilation " + a.d +
          ") is larger than the padded input " + a.padded + " (size " + a.size +
          " + 2*padding " + a.p + ")";
      },
      zh: function (a) {
        return "卷积核的跨度 " + a.span + "（kernel_size " + a.k + "，dilation " + a.d +
          "）大于填充后的输入 " + a.padded + "（size " + a.size + " + 2×padding " + a.p + "）";
      },
    },
    output_padding: {
      en: function (a) {
        return "output_padding (" + a.op + ") must be smaller than stride (" + a.s +
          ") or dilation (" + a.d + ")";
      },
      zh: function (a) {
        return "output_padding（" + a.op + "）必须小于 stride（" + a.s + "）或 dilation（" +
          a.d + "）";
      },
    },
    transposed_padding: {
      en: function (a) {
        return "padding " + a.p + " is too large: the transposed conv output would have size " +
          a.out;
      },
      zh: function (a) {
        return "padding " + a.p + " 太大：转置卷积的输出尺寸会是 " + a.out;
      },
    },
  };

  function message(err, lang) {
    return MESSAGES[err.code][lang](err.args);
  }

  // Python's repr() of what the reader typed, for "must be an integer, got ..."
  function repr(value) {
    return typeof value === "string" ? "'" + value.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'"
      : String(value);
  }

  // --- validation (snippets/formulas.py: _positive, _non_negative, _check_groups) ---------
  function positive(name, value, field) {
    if (typeof value !== "bigint") {
      throw new FormulaError("integer", { name: name, got: repr(value) }, [field || name]);
    }
    if (value < 1n) throw new FormulaError("positive", { name: name, value: value }, [field || name]);
    return value;
  }

  function nonNegative(name, value, field) {
    if (typeof value !== "bigint") {
      throw new FormulaError("integer", { name: name, got: repr(value) }, [field || name]);
    }
    if (value < 0n) throw new FormulaError("non_negative", { name: name, value: value }, [field || name]);
    return value;
  }

  function checkGroups(cin, cout, groups) {
    positive("in_channels", cin);
    positive("out_channels", cout);
    positive("groups", groups);
    if (cin % groups !== 0n) {
      throw new FormulaError("divisible", { name: "in_channels", value: cin, groups: groups },
        ["in_channels", "groups"]);
    }
    if (cout % groups !== 0n) {
      throw new FormulaError("divisible", { name: "out_channels", value: cout, groups: groups },
        ["out_channels", "groups"]);
    }
  }

  // --- sizes -------------------------------------------------------------------------------
  function effectiveKernelSize(k, d) {
    positive("kernel_size", k);
    positive("dilation", d);
    return k + (k - 1n) * (d - 1n);
  }

  // sizeField: which input ("height" or "width") Python's `size` came from, to mark it
  function convOutputSize(size, k, s, p, d, sizeField) {
    positive("size", size, sizeField);
    positive("stride", s);
    nonNegative("padding", p);
    var span = effectiveKernelSize(k, d);
    var padded = size + 2n * p;
    if (span > padded) {
      throw new FormulaError("span", { span: span, k: k, d: d, padded: padded, size: size, p: p },
        ["kernel_size", "padding", sizeField].concat(d === 1n ? [] : ["dilation"]));
    }
    return (padded - span) / s + 1n;   // BigInt division floors for non-negative numbers
  }

  function convTransposeOutputSize(size, k, s, p, op, d, sizeField) {
    positive("size", size, sizeField);
    positive("stride", s);
    nonNegative("padding", p);
    nonNegative("output_padding", op);
    var span = effectiveKernelSize(k, d);
    if (op >= s && op >= d) {
      throw new FormulaError("output_padding", { op: op, s: s, d: d }, ["output_padding", "stride"]);
    }
    var out = (size - 1n) * s - 2n * p + span + op;
    if (out < 1n) throw new FormulaError("transposed_padding", { p: p, out: out }, ["padding"]);
    return out;
  }

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
  // An integer becomes a BigInt; anything else stays as Python would see it (a float, or the
  // text), so the checks above reject it with Python's message.
  function parse(text) {
    var t = String(text).trim();
    if (/^[+-]?\d+$/.test(t)) return BigInt(t);
    if (t !== "" && isFinite(Number(t))) {
      var n = Number(t);
      return Number.isInteger(n) && Number.isSafeInteger(n) ? BigInt(n) : n;
    }
    return t;
  }

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

  function pageLang() {
    return (document.documentElement.lang || "zh").toLowerCase().indexOf("en") === 0 ? "en" : "zh";
  }

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
