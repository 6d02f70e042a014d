/*
 * Conv Atlas convolution explorer (plain JavaScript, no dependencies, works offline).
 *
 * Draws one 2-D convolution or transposed convolution: the input (with its padding, and for a
 * transposed convolution the zeros inserted between inputs, as the convolution-arithmetic
 * guide draws it), the kernel and the output, and which input cells and kernel taps each
 * output cell reads. The checks and output sizes are those of snippets/formulas.py, shared
 * with the calculator through conv-formulas.js (loaded first), so an impossible setting shows
 * the same error as Python. tests/test_explorer.py compares every answer with PyTorch.
 *
 * For tests and the curious: window.convExplorer.configure(config), .outputShape(),
 * .reads(i, j) (a list of [y, x, a, b]: input cell (y, x) meets kernel tap (a, b)), and a few
 * more (channels, feeds, select, selectInput, play, pause, pytorch, state).
 *
 * A reading of the model: every spatial dimension is independent, so each is a 1-D model
 * (dimModel); a 2-D cell reads the product of its row's and its column's reads.
 */
(function () {
  "use strict";

  var F = window.convFormulas;
  var KEYS = ["in_h", "in_w", "k_h", "k_w", "stride_h", "stride_w", "pad_h", "pad_w",
    "dil_h", "dil_w", "transposed", "out_pad_h", "out_pad_w", "groups", "in_channels",
    "out_channels"];
  var NUMBER_KEYS = KEYS.filter(function (k) { return k !== "transposed"; });
  // The most each setting may be here (the drawing has to fit on a screen).
  var LIMITS = { in_h: 16, in_w: 16, k_h: 7, k_w: 7, stride_h: 4, stride_w: 4, pad_h: 8,
    pad_w: 8, dil_h: 4, dil_w: 4, out_pad_h: 3, out_pad_w: 3, groups: 8, in_channels: 8,
    out_channels: 8 };
  var MINIMUM = { pad_h: 0, pad_w: 0, out_pad_h: 0, out_pad_w: 0 };
  // The guide's "padding, strides" figure (sitegen/pages/explorer.py: DEFAULT).
  var DEFAULTS = { in_h: 5, in_w: 5, k_h: 3, k_w: 3, stride_h: 2, stride_w: 2, pad_h: 1,
    pad_w: 1, dil_h: 1, dil_w: 1, transposed: 0, out_pad_h: 0, out_pad_w: 0, groups: 1,
    in_channels: 1, out_channels: 1 };
  // Which of the explorer's settings a snippets.formulas argument is, per dimension.
  var DIM_FIELDS = {
    h: { height: "in_h", kernel_size: "k_h", stride: "stride_h", padding: "pad_h",
      dilation: "dil_h", output_padding: "out_pad_h" },
    w: { width: "in_w", kernel_size: "k_w", stride: "stride_w", padding: "pad_w",
      dilation: "dil_w", output_padding: "out_pad_w" },
  };

  // --- words -------------------------------------------------------------------------------
  var WORDS = {
    zh: {
      limit: function (a) { return a.name + " 在演示器里最大为 " + a.max + "，现在是 " + a.value; },
      flag: function (a) { return a.name + " 只能是 0 或 1，现在是 " + a.got; },
      unknown: function (a) { return "未知的设置 " + a.name; },
      input: "输入", kernel: "卷积核", output: "输出",
      inputCaption: function (m) {
        var h = m.H, w = m.W;
        if (!m.transposed) {
          return "输入 " + h.n + "×" + w.n + (h.p || w.p ? "，填充后 " + h.len + "×" + w.len : "");
        }
        return "输入 " + h.n + "×" + w.n + "，插零并填充后 " + h.len + "×" + w.len;
      },
      kernelCaption: function (m) {
        return "卷积核 " + m.H.k + "×" + m.W.k + (m.H.d > 1 || m.W.d > 1 ?
          "，空洞率 " + m.H.d + "×" + m.W.d + "，覆盖 " + m.H.span + "×" + m.W.span : "") +
          (m.transposed ? "（窗口里的编号是旋转 180° 后的抽头）" : "");
      },
      outputCaption: function (m) { return "输出 " + m.H.out + "×" + m.W.out; },
      reads: function (i, j, n, other, transposed) {
        return "输出 (" + i + ", " + j + ") 读取 " + n + " 个输入格子" + (other ? "；另有 " + other +
          " 个抽头落在" + (transposed ? "填充、插入的零或输出填充上" : "填充上") : "") + "。";
      },
      feeds: function (y, x, n) { return "输入 (" + y + ", " + x + ") 影响 " + n + " 个输出格子。"; },
      cropped: function (h, w) {
        return "padding 大于 d(k−1)：转置卷积的结果在上下各裁掉 " + h + " 行、左右各裁掉 " + w + " 列，图里只画出留下的部分。";
      },
      channels: function (g, gin, gout, shape, depthwise) {
        return (g === 1 ? "不分组：每个输出通道读取全部 " + gin + " 个输入通道。" :
          g + " 组：每组 " + gin + " 个输入通道、" + gout + " 个输出通道，输出通道只读取本组的输入通道" +
          (depthwise ? "（每组一个输入通道：深度卷积）" : "") + "。") +
          "权重形状 (" + shape.join(", ") + ")。";
      },
      channelPick: function (o, from, to) {
        return "输出通道 " + o + " 读取输入通道 " + (from === to ? from : from + "–" + to) + "。";
      },
      play: "播放", pause: "暂停", copied: "已复制", copy: "复制",
      preset: "预设：", noPreset: "",
    },
    en: {
      limit: function (a) { return a.name + " can be at most " + a.max + " in the explorer, got " + a.value; },
      flag: function (a) { return a.name + " must be 0 or 1, got " + a.got; },
      unknown: function (a) { return "unknown setting " + a.name; },
      input: "Input", kernel: "Kernel", output: "Output",
      inputCaption: function (m) {
        var h = m.H, w = m.W;
        if (!m.transposed) {
          return "Input " + h.n + "×" + w.n + (h.p || w.p ? ", " + h.len + "×" + w.len + " padded" : "");
        }
        return "Input " + h.n + "×" + w.n + ", " + h.len + "×" + w.len + " with inserted zeros and padding";
      },
      kernelCaption: function (m) {
        return "Kernel " + m.H.k + "×" + m.W.k + (m.H.d > 1 || m.W.d > 1 ?
          ", dilation " + m.H.d + "×" + m.W.d + ", covers " + m.H.span + "×" + m.W.span : "") +
          (m.transposed ? " (the window's labels are the taps rotated by 180°)" : "");
      },
      outputCaption: function (m) { return "Output " + m.H.out + "×" + m.W.out; },
      reads: function (i, j, n, other, transposed) {
        return "Output (" + i + ", " + j + ") reads " + n + " input cell" + (n === 1 ? "" : "s") +
          (other ? "; " + other + " more tap" + (other === 1 ? " falls" : "s fall") + " on " +
            (transposed ? "padding, inserted zeros or output padding" : "padding") : "") + ".";
      },
      feeds: function (y, x, n) {
        return "Input (" + y + ", " + x + ") feeds " + n + " output cell" + (n === 1 ? "" : "s") + ".";
      },
      cropped: function (h, w) {
        return "padding is larger than d(k−1): the transposed convolution's result loses " + h +
          " rows at the top and bottom and " + w + " columns at each side; the drawing shows what is left.";
      },
      channels: function (g, gin, gout, shape, depthwise) {
        return (g === 1 ? "No groups: every output channel reads " +
          (gin === 1 ? "the one input channel. " : "all " + gin + " input channels. ") :
          g + " groups of " + gin + " input and " + gout + " output channels; an output channel reads " +
          "only the input channels of its group" + (depthwise ? " (one input channel per group: a depthwise convolution)" : "") + ". ") +
          "Weight shape (" + shape.join(", ") + ").";
      },
      channelPick: function (o, from, to) {
        return "Output channel " + o + " reads input channel" + (from === to ? " " + from : "s " + from + "–" + to) + ".";
      },
      play: "Play", pause: "Pause", copied: "Copied", copy: "Copy",
      preset: "Preset: ", noPreset: "",
    },
  };

  function message(err, lang) {
    if (WORDS[lang][err.code] && typeof WORDS[lang][err.code] === "function" &&
        ["limit", "flag", "unknown"].indexOf(err.code) >= 0) {
      return WORDS[lang][err.code](err.args);
    }
    return F.message(err, lang);
  }

  // --- the model ---------------------------------------------------------------------------
  function flag(name, value) {
    if (value === true || value === 1 || value === "1" || value === "true") return true;
    if (value === false || value === 0 || value === "0" || value === "false" || value === "") return false;
    throw new F.FormulaError("flag", { name: name, got: F.repr(value) }, [name]);
  }

  // Every key, the missing ones from DEFAULTS; integers become BigInt as in conv-formulas.js.
  function normalise(config) {
    config = config || {};
    Object.keys(config).forEach(function (key) {
      if (KEYS.indexOf(key) < 0) throw new F.FormulaError("unknown", { name: key }, []);
    });
    var c = {};
    KEYS.forEach(function (key) {
      var value = config[key] === undefined || config[key] === null ? DEFAULTS[key] : config[key];
      c[key] = key === "transposed" ? flag(key, value) : F.parse(String(value));
    });
    return c;
  }

  // One spatial dimension. Grid positions u index the drawn input row (padded, and for a
  // transposed convolution stretched by the inserted zeros); the window of output o starts at
  // start(o) and its t-th tap sits at start(o) + t*d, where it meets kernel index tapAt(t).
  function dimModel(n, k, s, p, d, transposed, op) {
    var span = d * (k - 1) + 1;
    var m = { n: n, k: k, s: s, p: p, d: d, span: span, transposed: transposed, op: 0, crop: 0 };
    if (!transposed) {
      m.out = Math.floor((n + 2 * p - span) / s) + 1;
      m.len = n + 2 * p;
      m.kind = function (u) { return u >= p && u < p + n ? "in" : "pad"; };
      m.index = function (u) { return u - p; };
      m.start = function (o) { return o * s; };
      m.tapAt = function (t) { return t; };
    } else {
      // (n-1)s + 1 positions with s-1 zeros between inputs, q = d(k-1) - p zeros on each
      // side (cropped when negative), op more at the end: a stride-1 convolution with the
      // kernel rotated by 180 degrees (tap t of the window meets kernel index k-1-t).
      var q = span - 1 - p;
      var last = (n - 1) * s;
      m.op = op;
      m.q = q;
      m.crop = Math.max(0, -q);
      m.out = (n - 1) * s - 2 * p + span + op;
      m.len = m.out + span - 1;
      m.kind = function (u) {
        var z = u - q;
        if (z >= 0 && z <= last) return z % s === 0 ? "in" : "zero";
        if (z < 0) return "pad";
        return z - last <= q ? "pad" : "outpad";
      };
      m.index = function (u) { return (u - q) / s; };
      m.start = function (o) { return o; };
      m.tapAt = function (t) { return k - 1 - t; };
    }
    m.reads = function (o) {
      var found = [];
      for (var t = 0; t < k; t++) {
        var u = m.start(o) + t * d;
        if (m.kind(u) === "in") found.push([m.index(u), m.tapAt(t)]);
      }
      return found;
    };
    return m;
  }

  // Checks in the order Python does them (tests/test_explorer.py: python_error): the output
  // size of each dimension (snippets.formulas.conv_output_size or conv_transpose_output_size,
  // height first), the channels and groups (conv2d_params), then the explorer's own limits.
  function analyse(c) {
    ["h", "w"].forEach(function (dim) {
      var sizeField = dim === "h" ? "height" : "width";
      try {
        if (c.transposed) {
          F.convTransposeOutputSize(c["in_" + dim], c["k_" + dim], c["stride_" + dim],
            c["pad_" + dim], c["out_pad_" + dim], c["dil_" + dim], sizeField);
        } else {
          F.convOutputSize(c["in_" + dim], c["k_" + dim], c["stride_" + dim], c["pad_" + dim],
            c["dil_" + dim], sizeField);
        }
      } catch (err) {
        if (err instanceof F.FormulaError) {
          err.fields = err.fields.map(function (f) { return DIM_FIELDS[dim][f] || f; });
        }
        throw err;
      }
    });
    F.checkGroups(c.in_channels, c.out_channels, c.groups);
    NUMBER_KEYS.forEach(function (key) {
      if (!c.transposed && key.indexOf("out_pad") === 0) return;   // unused by a convolution
      if (c[key] > BigInt(LIMITS[key])) {
        throw new F.FormulaError("limit", { name: key, max: LIMITS[key], value: c[key] }, [key]);
      }
    });
    var n = {};
    NUMBER_KEYS.forEach(function (key) { n[key] = Number(c[key]); });
    var t = c.transposed;
    var model = {
      transposed: t,
      n: n,
      H: dimModel(n.in_h, n.k_h, n.stride_h, n.pad_h, n.dil_h, t, t ? n.out_pad_h : 0),
      W: dimModel(n.in_w, n.k_w, n.stride_w, n.pad_w, n.dil_w, t, t ? n.out_pad_w : 0),
      groups: n.groups, cin: n.in_channels, cout: n.out_channels,
    };
    model.reads = function (i, j) {
      var out = [];
      model.H.reads(i).forEach(function (row) {
        model.W.reads(j).forEach(function (col) { out.push([row[0], col[0], row[1], col[1]]); });
      });
      return out;
    };
    model.feeds = function (y, x) {
      var out = [];
      for (var i = 0; i < model.H.out; i++) {
        if (!model.H.reads(i).some(function (r) { return r[0] === y; })) continue;
        for (var j = 0; j < model.W.out; j++) {
          if (model.W.reads(j).some(function (r) { return r[0] === x; })) out.push([i, j]);
        }
      }
      return out;
    };
    // the input channels output channel o reads: those of its group
    model.channels = function (o) {
      var gin = model.cin / model.groups, gout = model.cout / model.groups;
      var g = Math.floor(o / gout), found = [];
      for (var ci = g * gin; ci < (g + 1) * gin; ci++) found.push(ci);
      return found;
    };
    model.weightShape = t ? [model.cin, model.cout / model.groups, n.k_h, n.k_w]
      : [model.cout, model.cin / model.groups, n.k_h, n.k_w];
    return model;
  }

  // --- the PyTorch line and the formula -----------------------------------------------------
  function pair(h, w) { return h === w ? String(h) : "(" + h + ", " + w + ")"; }

  function pytorchLine(m) {
    var n = m.n, args = [String(m.cin), String(m.cout), "kernel_size=" + pair(n.k_h, n.k_w)];
    function opt(name, h, w, dflt) {
      if (h !== dflt || w !== dflt) args.push(name + "=" + pair(h, w));
    }
    opt("stride", n.stride_h, n.stride_w, 1);
    opt("padding", n.pad_h, n.pad_w, 0);
    if (m.transposed) {
      opt("output_padding", n.out_pad_h, n.out_pad_w, 0);
      if (m.groups !== 1) args.push("groups=" + m.groups);
      opt("dilation", n.dil_h, n.dil_w, 1);
    } else {
      opt("dilation", n.dil_h, n.dil_w, 1);
      if (m.groups !== 1) args.push("groups=" + m.groups);
    }
    return "nn." + (m.transposed ? "ConvTranspose2d" : "Conv2d") + "(" + args.join(", ") + ")";
  }

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // H_out = ... = (numbers) = result, as HTML; the numbers part alone is data-cx-expr.
  function formulaHtml(m, dim) {
    var d = dim === "h" ? m.H : m.W, X = dim === "h" ? "H" : "W";
    var v = function (name) { return "<var>" + name + "</var>"; };
    var sub = function (name, s) { return v(name) + "<sub>" + s + "</sub>"; };
    var general, numbers;
    if (!m.transposed) {
      general = "⌊(" + v(X) + " + 2" + v("p") + " − " + v("d") + "(" + v("k") + " − 1) − 1) / " +
        v("s") + "⌋ + 1";
      numbers = "⌊(" + d.n + " + 2·" + d.p + " − " + d.d + "·(" + d.k + " − 1) − 1) / " + d.s + "⌋ + 1";
    } else {
      general = "(" + v(X) + " − 1)·" + v("s") + " − 2" + v("p") + " + " + v("d") + "(" + v("k") +
        " − 1) + " + sub("p", "out") + " + 1";
      numbers = "(" + d.n + " − 1)·" + d.s + " − 2·" + d.p + " + " + d.d + "·(" + d.k + " − 1) + " +
        d.op + " + 1";
    }
    // each "= ..." part stays on one line; a narrow screen wraps between them
    return "<span class=\"cx-f\">" + sub(X, "out") + " = " + general + "</span> " +
      "<span class=\"cx-f\">= <span data-cx-expr=\"" + dim + "\">" + numbers + "</span></span> " +
      "<span class=\"cx-f\">= <strong data-cx-result=\"" + dim + "\">" + d.out + "</strong></span>";
  }

  // --- drawing -----------------------------------------------------------------------------
  var SVG = "http://www.w3.org/2000/svg";
  var GAP = 0.06;

  function cellRect(cls, row, col, attrs) {
    return "<rect class=\"cx-cell " + cls + "\" x=\"" + (col + GAP) + "\" y=\"" + (row + GAP) +
      "\" width=\"" + (1 - 2 * GAP) + "\" height=\"" + (1 - 2 * GAP) + "\"" + (attrs || "") + "/>";
  }

  function label(text, row, col, cls) {
    return "<text class=\"cx-label" + (cls ? " " + cls : "") + "\" x=\"" + (col + 0.5) +
      "\" y=\"" + (row + 0.5) + "\">" + text + "</text>";
  }

  function svgOpen(rows, cols, px) {
    return "<svg xmlns=\"" + SVG + "\" class=\"cx-svg\" viewBox=\"0 0 " + cols + " " + rows +
      "\" width=\"" + Math.round(cols * px) + "\" height=\"" + Math.round(rows * px) +
      "\" aria-hidden=\"true\" focusable=\"false\">";
  }

  function kind2(kh, kw) {
    if (kh === "in" && kw === "in") return "in";
    if (kh === "outpad" || kw === "outpad") return "outpad";
    if (kh === "pad" || kw === "pad") return "pad";
    return "zero";
  }

  // --- the page ----------------------------------------------------------------------------
  function Explorer(root) {
    this.root = root;
    this.lang = F.pageLang();
    this.words = WORDS[this.lang];
    this.form = root.querySelector("form.cx-controls");
    this.find = function (sel) { return root.querySelector(sel); };
    this.model = null;
    this.error = null;
    this.raw = {};
    this.selected = [0, 0];
    this.hover = null;
    this.input = null;      // the selected input cell [y, x], or null
    this.channel = 0;       // the selected output channel
    this.timer = null;
    this.built = "";
    this.reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  Explorer.prototype.readForm = function () {
    var raw = {}, form = this.form;
    NUMBER_KEYS.forEach(function (key) { raw[key] = form.elements[key].value; });
    var checked = form.querySelector("input[name=transposed]:checked");
    raw.transposed = checked ? checked.value : "0";
    return raw;
  };

  Explorer.prototype.writeForm = function (raw) {
    var form = this.form;
    NUMBER_KEYS.forEach(function (key) {
      if (form.elements[key].value !== String(raw[key])) form.elements[key].value = String(raw[key]);
    });
    var t = raw.transposed === true || raw.transposed === 1 || raw.transposed === "1" ||
      raw.transposed === "true";
    form.querySelectorAll("input[name=transposed]").forEach(function (radio) {
      radio.checked = radio.value === (t ? "1" : "0");
    });
  };

  // Apply a configuration (an object of KEYS; missing keys take their defaults).
  Explorer.prototype.apply = function (config) {
    var raw = {};
    KEYS.forEach(function (key) {
      raw[key] = config[key] === undefined || config[key] === null ? DEFAULTS[key] : config[key];
    });
    this.raw = raw;
    try {
      this.model = analyse(normalise(config));
      this.error = null;
    } catch (err) {
      if (!(err instanceof F.FormulaError)) throw err;
      this.model = null;
      this.error = err;
    }
    this.render();
    this.writeUrl();
    this.markPreset();
  };

  Explorer.prototype.fromForm = function () {
    var raw = this.readForm();
    this.apply(raw);
  };

  Explorer.prototype.thrown = function () {
    var err = this.error;
    var e = new Error(message(err, this.lang));
    e.en = message(err, "en");
    e.zh = message(err, "zh");
    e.code = err.code;
    e.fields = err.fields.slice();
    return e;
  };

  Explorer.prototype.render = function () {
    var root = this.root, w = this.words, m = this.model;
    var errorBox = this.find(".cx-error");
    var invalid = {};
    if (this.error) {
      errorBox.textContent = message(this.error, this.lang);
      errorBox.hidden = false;
      this.error.fields.forEach(function (f) { invalid[f] = true; });
    } else {
      errorBox.hidden = true;
      errorBox.textContent = "";
    }
    var form = this.form;
    NUMBER_KEYS.forEach(function (key) {
      if (invalid[key]) form.elements[key].setAttribute("aria-invalid", "true");
      else form.elements[key].removeAttribute("aria-invalid");
    });
    var transposed = this.readForm().transposed === "1";
    this.find(".cx-outpad").disabled = !transposed;
    root.classList.toggle("cx-is-transposed", transposed);
    root.classList.toggle("cx-is-invalid", !m);
    this.find(".cx-stage").hidden = !m;
    this.find(".cx-result").hidden = !m;
    if (!m) {
      this.pause();
      return;
    }
    this.find("[data-cx-pytorch]").textContent = pytorchLine(m);
    var shapes = "(N, " + m.cin + ", " + m.H.n + ", " + m.W.n + ") → (N, " + m.cout + ", " +
      m.H.out + ", " + m.W.out + ")";
    this.find("[data-cx-shapes]").textContent = shapes;
    this.find("[data-cx-formula=h]").innerHTML = formulaHtml(m, "h");
    this.find("[data-cx-formula=w]").innerHTML = formulaHtml(m, "w");
    var note = this.find(".cx-note");
    note.hidden = !(m.H.crop || m.W.crop);
    note.textContent = note.hidden ? "" : w.cropped(m.H.crop, m.W.crop);
    var key = JSON.stringify(m.n) + m.transposed;
    if (key !== this.built) {
      this.build();
      this.built = key;
    }
    this.selected = [Math.min(this.selected[0], m.H.out - 1), Math.min(this.selected[1], m.W.out - 1)];
    if (this.input && (this.input[0] >= m.H.n || this.input[1] >= m.W.n)) this.input = null;
    if (this.channel >= m.cout) this.channel = 0;
    this.highlight();
    this.drawChannels();
  };

  // The three grids of a configuration (highlight() then only changes classes).
  Explorer.prototype.build = function () {
    var m = this.model, w = this.words, H = m.H, W = m.W;
    var total = W.len + W.k + W.out;
    var px = Math.max(12, Math.min(32, Math.floor(620 / (total + 2))));
    var parts = [svgOpen(H.len, W.len, px), "<g class=\"cx-cells\">"];
    for (var u = 0; u < H.len; u++) {
      var kh = H.kind(u);
      for (var v = 0; v < W.len; v++) {
        var kind = kind2(kh, W.kind(v));
        var attrs = kind === "in" ? " data-y=\"" + H.index(u) + "\" data-x=\"" + W.index(v) + "\"" : "";
        parts.push(cellRect("cx-" + kind, u, v, attrs));
      }
    }
    parts.push("</g><g class=\"cx-window\"></g></svg>");
    this.find("[data-cx-grid=input]").innerHTML = parts.join("");
    parts = [svgOpen(H.k, W.k, px)];
    for (var a = 0; a < H.k; a++) {
      for (var b = 0; b < W.k; b++) {
        parts.push("<g class=\"cx-tap\" data-a=\"" + a + "\" data-b=\"" + b + "\">" +
          cellRect("cx-k", a, b) + label(a + "," + b, a, b) + "</g>");
      }
    }
    parts.push("</svg>");
    this.find("[data-cx-grid=kernel]").innerHTML = parts.join("");
    parts = [svgOpen(H.out, W.out, px)];
    for (var i = 0; i < H.out; i++) {
      for (var j = 0; j < W.out; j++) {
        parts.push(cellRect("cx-out", i, j, " data-i=\"" + i + "\" data-j=\"" + j + "\""));
      }
    }
    parts.push("</svg>");
    this.find("[data-cx-grid=output]").innerHTML = parts.join("");
    this.find("[data-cx-caption=input]").textContent = w.inputCaption(m);
    this.find("[data-cx-caption=kernel]").textContent = w.kernelCaption(m);
    this.find("[data-cx-caption=output]").textContent = w.outputCaption(m);
    var self = this;
    this.lit = [];
    this.inputCells = {};
    this.find("[data-cx-grid=input]").querySelectorAll("rect[data-y]").forEach(function (r) {
      self.inputCells[r.getAttribute("data-y") + "," + r.getAttribute("data-x")] = r;
    });
    this.outputCells = {};
    this.find("[data-cx-grid=output]").querySelectorAll("rect[data-i]").forEach(function (r) {
      self.outputCells[r.getAttribute("data-i") + "," + r.getAttribute("data-j")] = r;
    });
    this.taps = {};
    this.find("[data-cx-grid=kernel]").querySelectorAll("g.cx-tap").forEach(function (g) {
      self.taps[g.getAttribute("data-a") + "," + g.getAttribute("data-b")] = g;
    });
  };

  Explorer.prototype.current = function () { return this.hover || this.selected; };

  Explorer.prototype.highlight = function () {
    var m = this.model, self = this;
    if (!m) return;
    var root = this.root;
    (this.lit || []).forEach(function (el) {
      el.classList.remove("is-read", "is-used", "is-selected", "is-fed", "is-source", "is-current");
      if (el.tagName.toLowerCase() === "rect" && el.hasAttribute("data-y")) {
        el.removeAttribute("data-a");
        el.removeAttribute("data-b");
      }
    });
    var lit = this.lit = [];
    var cur = this.current(), i = cur[0], j = cur[1];
    var sel = this.outputCells[this.selected[0] + "," + this.selected[1]];
    if (sel) { sel.classList.add("is-selected"); lit.push(sel); }
    var now = this.outputCells[i + "," + j];
    if (now) { now.classList.add("is-current"); lit.push(now); }
    var reads = m.reads(i, j);
    reads.forEach(function (r) {
      var cell = self.inputCells[r[0] + "," + r[1]];
      cell.classList.add("is-read");
      cell.setAttribute("data-a", r[2]);
      cell.setAttribute("data-b", r[3]);
      self.taps[r[2] + "," + r[3]].classList.add("is-used");
      lit.push(cell, self.taps[r[2] + "," + r[3]]);
    });
    // the window: its outline and a mark with the kernel index on each of its taps
    var H = m.H, W = m.W, u0 = H.start(i), v0 = W.start(j), parts = [];
    for (var th = 0; th < H.k; th++) {
      for (var tw = 0; tw < W.k; tw++) {
        var u = u0 + th * H.d, v = v0 + tw * W.d;
        var hit = H.kind(u) === "in" && W.kind(v) === "in";
        parts.push(cellRect("cx-mark" + (hit ? " cx-mark-read" : ""), u, v) +
          label(H.tapAt(th) + "," + W.tapAt(tw), u, v, hit ? "cx-label-read" : "cx-label-mark"));
      }
    }
    parts.push("<rect class=\"cx-outline\" x=\"" + v0 + "\" y=\"" + u0 + "\" width=\"" + W.span +
      "\" height=\"" + H.span + "\"/>");
    this.find("[data-cx-grid=input] .cx-window").innerHTML = parts.join("");
    this.root.setAttribute("data-cx-current", i + "," + j);
    var status = this.words.reads(i, j, reads.length, H.k * W.k - reads.length, m.transposed);
    if (this.input) {
      var y = this.input[0], x = this.input[1];
      var src = this.inputCells[y + "," + x];
      if (src) { src.classList.add("is-source"); lit.push(src); }
      var fed = m.feeds(y, x);
      fed.forEach(function (o) {
        var cell = self.outputCells[o[0] + "," + o[1]];
        cell.classList.add("is-fed");
        lit.push(cell);
      });
      status += " " + this.words.feeds(y, x, fed.length);
      this.root.setAttribute("data-cx-input", y + "," + x);
    } else {
      this.root.removeAttribute("data-cx-input");
    }
    this.find(".cx-status").textContent = status;
  };

  Explorer.prototype.drawChannels = function () {
    var m = this.model, w = this.words;
    var gin = m.cin / m.groups, gout = m.cout / m.groups;
    var n = Math.max(m.cin, m.cout), width = n * 2, px = 22;
    var xin = function (c) { return (n - m.cin) + c * 2 + 1; };
    var xout = function (c) { return (n - m.cout) + c * 2 + 1; };
    var picked = m.channels(this.channel);
    var parts = ["<svg xmlns=\"" + SVG + "\" class=\"cx-svg\" viewBox=\"0 0 " + width + " 4.2\" width=\"" +
      width * px + "\" height=\"" + Math.round(4.2 * px) + "\" aria-hidden=\"true\" focusable=\"false\">"];
    for (var o = 0; o < m.cout; o++) {
      var mine = m.channels(o);
      for (var k = 0; k < mine.length; k++) {
        parts.push("<line class=\"cx-link cx-g" + (Math.floor(o / gout) % 8) +
          (o === this.channel ? " is-picked" : "") + "\" x1=\"" + xout(o) + "\" y1=\"2.8\" x2=\"" +
          xin(mine[k]) + "\" y2=\"1.4\"/>");
      }
    }
    for (var c = 0; c < m.cin; c++) {
      var on = picked.indexOf(c) >= 0;
      parts.push("<g class=\"cx-chan cx-chan-in cx-g" + (Math.floor(c / gin) % 8) + (on ? " is-picked" : "") +
        "\" data-cin=\"" + c + "\"><rect class=\"cx-chan-box\" x=\"" + (xin(c) - 0.7) + "\" y=\"0.2\" width=\"1.4\" height=\"1.2\" rx=\"0.15\"/>" +
        "<text class=\"cx-label\" x=\"" + xin(c) + "\" y=\"0.8\">" + c + "</text></g>");
    }
    for (var oc = 0; oc < m.cout; oc++) {
      parts.push("<g class=\"cx-chan cx-chan-out cx-g" + (Math.floor(oc / gout) % 8) +
        (oc === this.channel ? " is-picked" : "") + "\" data-cout=\"" + oc + "\"><rect class=\"cx-chan-box\" x=\"" +
        (xout(oc) - 0.7) + "\" y=\"2.8\" width=\"1.4\" height=\"1.2\" rx=\"0.15\"/>" +
        "<text class=\"cx-label\" x=\"" + xout(oc) + "\" y=\"3.4\">" + oc + "</text></g>");
    }
    parts.push("</svg>");
    this.find("[data-cx-grid=channels]").innerHTML = parts.join("");
    this.find("[data-cx-channels-text]").textContent =
      w.channels(m.groups, gin, gout, m.weightShape, m.groups > 1 && gin === 1) + " " +
      w.channelPick(this.channel, picked[0], picked[picked.length - 1]);
  };

  // --- selection, keys and the animation ----------------------------------------------------
  Explorer.prototype.select = function (i, j) {
    var m = this.model;
    if (!m) return;
    this.selected = [Math.max(0, Math.min(i, m.H.out - 1)), Math.max(0, Math.min(j, m.W.out - 1))];
    this.highlight();
  };

  Explorer.prototype.step = function (delta) {
    var m = this.model;
    if (!m) return;
    var count = m.H.out * m.W.out;
    var at = (this.selected[0] * m.W.out + this.selected[1] + delta + count) % count;
    this.select(Math.floor(at / m.W.out), at % m.W.out);
  };

  Explorer.prototype.play = function () {
    if (this.timer || !this.model) return;
    var self = this;
    this.timer = window.setInterval(function () { self.step(1); }, this.reduce ? 1600 : 900);
    this.find(".cx-status").setAttribute("aria-live", "off");
    this.updatePlayButton();
  };

  Explorer.prototype.pause = function () {
    if (this.timer) window.clearInterval(this.timer);
    this.timer = null;
    this.find(".cx-status").setAttribute("aria-live", "polite");
    this.updatePlayButton();
  };

  Explorer.prototype.updatePlayButton = function () {
    var button = this.find("[data-cx-play]");
    var playing = !!this.timer;
    button.setAttribute("aria-pressed", playing ? "true" : "false");
    button.textContent = playing ? "⏸ " + this.words.pause : "▶ " + this.words.play;
  };

  var MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

  Explorer.prototype.onOutputKey = function (event) {
    var m = this.model, move = MOVES[event.key];
    if (!m) return;
    if (move) {
      this.pause();
      this.hover = null;
      this.select(this.selected[0] + move[0], this.selected[1] + move[1]);
    } else if (event.key === "Home") {
      this.pause();
      this.select(0, 0);
    } else if (event.key === "End") {
      this.pause();
      this.select(m.H.out - 1, m.W.out - 1);
    } else {
      return;
    }
    event.preventDefault();
  };

  Explorer.prototype.onInputKey = function (event) {
    var m = this.model, move = MOVES[event.key];
    if (!m) return;
    if (move) {
      var at = this.input || [0, 0];
      this.input = this.input ? [Math.max(0, Math.min(at[0] + move[0], m.H.n - 1)),
        Math.max(0, Math.min(at[1] + move[1], m.W.n - 1))] : [0, 0];
    } else if (event.key === "Escape") {
      this.input = null;
    } else {
      return;
    }
    event.preventDefault();
    this.highlight();
  };

  Explorer.prototype.onChannelKey = function (event) {
    var m = this.model;
    if (!m) return;
    var delta = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
    if (!delta) return;
    event.preventDefault();
    this.channel = (this.channel + delta + m.cout) % m.cout;
    this.drawChannels();
  };

  // --- the URL, the presets, the links ------------------------------------------------------
  function queryOf(raw) {
    var params = new URLSearchParams();
    KEYS.forEach(function (key) {
      var value = raw[key];
      if (key === "transposed") value = value === true || value === 1 || value === "1" || value === "true" ? 1 : 0;
      params.set(key, String(value));
    });
    return params.toString();
  }

  function configFromSearch(search) {
    var params = new URLSearchParams(search), config = {};
    KEYS.forEach(function (key) { if (params.has(key)) config[key] = params.get(key); });
    return config;
  }

  // The address bar follows the settings a moment later (typing, and tests that configure
  // hundreds of layers, would otherwise hit the browser's limit on history updates).
  Explorer.prototype.writeUrl = function () {
    var self = this;
    if (this.urlTimer) window.clearTimeout(this.urlTimer);
    this.urlTimer = window.setTimeout(function () {
      self.urlTimer = null;
      self.writeUrlNow();
    }, 150);
  };

  Explorer.prototype.writeUrlNow = function () {
    var search = queryOf(this.raw);
    var url = window.location.pathname + "?" + search + window.location.hash;
    if (window.history && window.history.replaceState) {
      window.history.replaceState(window.history.state, "", url);
    }
    var link = this.find("[data-cx-permalink]");
    if (link) link.href = url;
    document.querySelectorAll("a[hreflang]").forEach(function (a) {
      var target = new URL(a.getAttribute("href"), window.location.href);
      if (target.origin !== window.location.origin) return;
      target.search = search;
      a.href = target.pathname + target.search + target.hash;
    });
  };

  function sameConfig(a, b) {
    try {
      var x = normalise(a), y = normalise(b);
      return KEYS.every(function (key) {
        if (!x.transposed && key.indexOf("out_pad") === 0) return true;
        return x[key] === y[key];
      });
    } catch (err) {
      return false;
    }
  }

  Explorer.prototype.markPreset = function () {
    var now = this.find(".cx-now"), raw = this.raw, found = null;
    document.querySelectorAll("a[data-cx-preset]").forEach(function (a) {
      var config = configFromSearch(new URL(a.href, window.location.href).search);
      var match = !found && sameConfig(config, raw);
      if (match) {
        found = a;
        a.setAttribute("aria-current", "true");
      } else {
        a.removeAttribute("aria-current");
      }
    });
    if (!now) return;
    if (found) {
      var caption = found.parentElement.querySelector(".cx-caption");
      now.innerHTML = "";
      var strong = document.createElement("strong");
      strong.textContent = this.words.preset + found.textContent;
      now.appendChild(strong);
      now.appendChild(document.createTextNode(" "));
      if (caption) {
        var span = document.createElement("span");
        span.innerHTML = caption.innerHTML;
        now.appendChild(span);
      }
      now.setAttribute("data-cx-preset", found.getAttribute("data-cx-preset"));
      now.hidden = false;
    } else {
      now.textContent = "";
      now.removeAttribute("data-cx-preset");
      now.hidden = true;
    }
  };

  function copyText(button, text, words) {
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(text).then(function () {
      var before = button.textContent;
      button.textContent = words.copied;
      button.classList.add("cx-copied");
      window.setTimeout(function () {
        button.textContent = before;
        button.classList.remove("cx-copied");
      }, 1500);
    });
  }

  // --- wiring ------------------------------------------------------------------------------
  Explorer.prototype.init = function () {
    var self = this, root = this.root, form = this.form;
    NUMBER_KEYS.forEach(function (key) {
      var input = form.elements[key];
      input.min = MINIMUM[key] === undefined ? 1 : MINIMUM[key];
      input.max = LIMITS[key];
    });
    form.addEventListener("input", function () { self.fromForm(); });
    form.addEventListener("change", function () { self.fromForm(); });
    form.addEventListener("submit", function (event) { event.preventDefault(); self.fromForm(); });

    var output = this.find("[data-cx-grid=output]");
    output.addEventListener("pointermove", function (event) {
      var cell = event.target.closest && event.target.closest("rect[data-i]");
      var at = cell ? [Number(cell.getAttribute("data-i")), Number(cell.getAttribute("data-j"))] : null;
      if (String(at) !== String(self.hover)) {
        self.hover = at;
        self.highlight();
      }
    });
    output.addEventListener("pointerleave", function () {
      if (self.hover) {
        self.hover = null;
        self.highlight();
      }
    });
    output.addEventListener("click", function (event) {
      var cell = event.target.closest && event.target.closest("rect[data-i]");
      if (!cell) return;
      self.pause();
      self.hover = null;
      self.select(Number(cell.getAttribute("data-i")), Number(cell.getAttribute("data-j")));
    });
    output.addEventListener("keydown", function (event) { self.onOutputKey(event); });

    var input = this.find("[data-cx-grid=input]");
    input.addEventListener("click", function (event) {
      var cell = event.target.closest && event.target.closest("rect[data-y]");
      if (!cell) {
        var mark = event.target.closest && event.target.closest(".cx-window");
        if (!mark) return;
        // a click on the window's mark: find the cell under it
        var r = input.querySelector("svg").getBoundingClientRect();
        var m = self.model, col = Math.floor((event.clientX - r.left) / r.width * m.W.len);
        var row = Math.floor((event.clientY - r.top) / r.height * m.H.len);
        if (m.H.kind(row) !== "in" || m.W.kind(col) !== "in") return;
        cell = self.inputCells[m.H.index(row) + "," + m.W.index(col)];
      }
      var at = [Number(cell.getAttribute("data-y")), Number(cell.getAttribute("data-x"))];
      self.input = self.input && String(self.input) === String(at) ? null : at;
      self.highlight();
    });
    input.addEventListener("keydown", function (event) { self.onInputKey(event); });

    var channels = this.find("[data-cx-grid=channels]");
    channels.addEventListener("click", function (event) {
      var g = event.target.closest && event.target.closest("[data-cout]");
      if (!g) return;
      self.channel = Number(g.getAttribute("data-cout"));
      self.drawChannels();
    });
    channels.addEventListener("keydown", function (event) { self.onChannelKey(event); });

    this.find("[data-cx-play]").addEventListener("click", function () {
      if (self.timer) self.pause(); else self.play();
    });
    this.find("[data-cx-prev]").addEventListener("click", function () { self.pause(); self.step(-1); });
    this.find("[data-cx-next]").addEventListener("click", function () { self.pause(); self.step(1); });

    var copy = this.find("[data-cx-copy]");
    var copyLink = this.find("[data-cx-copy-link]");
    if (navigator.clipboard) {
      copy.hidden = false;
      copyLink.hidden = false;
      copy.addEventListener("click", function () {
        copyText(copy, self.find("[data-cx-pytorch]").textContent, self.words);
      });
      copyLink.addEventListener("click", function () {
        copyText(copyLink, window.location.href, self.words);
      });
    }

    document.querySelectorAll("a[data-cx-preset]").forEach(function (a) {
      a.addEventListener("click", function (event) {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        self.pause();
        var config = configFromSearch(new URL(a.href, window.location.href).search);
        self.selected = [0, 0];
        self.input = null;
        self.writeForm(normaliseRaw(config));
        self.apply(config);
        root.scrollIntoView({ block: "start", behavior: self.reduce ? "auto" : "smooth" });
      });
    });

    var config = configFromSearch(window.location.search);
    this.writeForm(normaliseRaw(config));
    this.apply(config);
    this.writeUrlNow();   // the language switcher keeps the settings from the start
    this.updatePlayButton();
    root.setAttribute("data-cx-ready", "1");
    if (!this.reduce && this.model) this.play();
  };

  function normaliseRaw(config) {
    var raw = {};
    KEYS.forEach(function (key) {
      raw[key] = config[key] === undefined || config[key] === null ? DEFAULTS[key] : config[key];
    });
    return raw;
  }

  function initAll() {
    var root = document.querySelector("[data-conv-explorer]");
    if (!root || root.getAttribute("data-cx-ready")) return;
    var explorer = new Explorer(root);
    explorer.init();

    function need() {
      if (!explorer.model) throw explorer.thrown();
      return explorer.model;
    }

    window.convExplorer = {
      // Set every key (missing ones take their defaults); throws on an impossible setting,
      // with the page-language message (and .en, .zh: the message in each language).
      configure: function (config) {
        explorer.selected = [0, 0];
        explorer.hover = null;
        explorer.input = null;
        explorer.writeForm(normaliseRaw(config || {}));
        explorer.apply(config || {});
        if (explorer.error) throw explorer.thrown();
      },
      outputShape: function () {
        var m = need();
        return [m.H.out, m.W.out];
      },
      reads: function (i, j) {
        var m = need();
        if (!(i >= 0 && i < m.H.out && j >= 0 && j < m.W.out) || i % 1 || j % 1) {
          throw new RangeError("no output cell (" + i + ", " + j + ") in a " + m.H.out + "×" + m.W.out + " output");
        }
        return m.reads(i, j);
      },
      feeds: function (y, x) { return need().feeds(y, x); },
      channels: function (o) { return need().channels(o); },
      weightShape: function () { return need().weightShape.slice(); },
      select: function (i, j) { need(); explorer.hover = null; explorer.select(i, j); },
      selectInput: function (y, x) { need(); explorer.input = y === null ? null : [y, x]; explorer.highlight(); },
      selectChannel: function (o) { need(); explorer.channel = o; explorer.drawChannels(); },
      play: function () { explorer.play(); },
      pause: function () { explorer.pause(); },
      playing: function () { return !!explorer.timer; },
      pytorch: function () { return pytorchLine(need()); },
      // the query string the address bar shows (it follows the settings within 0.2 s)
      query: function () { return queryOf(explorer.raw); },
      error: function () { return explorer.error ? message(explorer.error, explorer.lang) : null; },
      KEYS: KEYS.slice(), LIMITS: LIMITS, DEFAULTS: DEFAULTS,
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
