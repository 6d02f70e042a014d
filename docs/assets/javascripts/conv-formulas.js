/*
 * Conv Atlas: the shape formulas of snippets/formulas.py in plain JavaScript, shared by the
 * calculator (calculator.js) and the convolution explorer (explorer.js).
 *
 * A line-by-line port: the same checks in the same order, so a page shows the same first
 * error as Python (word for word in English, translated in Chinese). Integers are BigInt.
 * Loaded before the page's own script; it defines window.convFormulas and nothing else.
 */
(function () {
  "use strict";

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

  // --- reading what the reader typed ------------------------------------------------------
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

  function pageLang() {
    return (document.documentElement.lang || "zh").toLowerCase().indexOf("en") === 0 ? "en" : "zh";
  }

  window.convFormulas = {
    FormulaError: FormulaError, MESSAGES: MESSAGES, message: message, repr: repr,
    positive: positive, nonNegative: nonNegative, checkGroups: checkGroups,
    effectiveKernelSize: effectiveKernelSize, convOutputSize: convOutputSize,
    convTransposeOutputSize: convTransposeOutputSize, parse: parse, pageLang: pageLang,
  };
})();
