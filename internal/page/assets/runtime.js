// dadash page runtime: sets up the ECharts charts and embedding views of a
// page from the JSON that the Go side embeds, and collects JavaScript errors
// (shown at the top of the page and counted in <html data-js-errors>, which
// the headless-browser test reads).
//
// Text from data reaches the DOM only through esc() or textContent, never
// as raw HTML: class names and file names can contain anything.
(function () {
  "use strict";
  var D = (window.dadash = { charts: [], errors: [], kinds: {} });

  D.esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };

  // num formats a number for tooltips: 4 significant digits, no noise.
  D.num = function (v) {
    if (typeof v !== "number") return v == null ? "–" : String(v);
    if (!isFinite(v)) return String(v);
    if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(3);
    return String(parseFloat(v.toPrecision(4)));
  };

  // short: 3 significant digits, for labels inside cells.
  D.short = function (v) {
    if (typeof v !== "number" || !isFinite(v)) return D.num(v);
    if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(1);
    return String(parseFloat(v.toPrecision(3)));
  };

  D.fail = function (where, err) {
    var msg = where + ": " + (err && err.message ? err.message : String(err));
    D.errors.push(msg);
    var root = document.documentElement;
    root.setAttribute("data-js-errors", String(D.errors.length));
    var show = function () {
      var box = document.getElementById("dadash-errors");
      if (!box) {
        box = document.createElement("div");
        box.id = "dadash-errors";
        box.className = "js-errors";
        document.body.insertBefore(box, document.body.firstChild);
      }
      var p = document.createElement("p");
      p.textContent = "This page hit a JavaScript error: " + msg;
      box.appendChild(p);
    };
    if (document.body) show();
    else document.addEventListener("DOMContentLoaded", show);
  };
  window.addEventListener("error", function (e) {
    D.fail("page", e.error || e.message);
  });
  window.addEventListener("unhandledrejection", function (e) {
    D.fail("page", e.reason);
  });
  window.addEventListener("load", function () {
    document.documentElement.setAttribute("data-dadash-ready", String(D.charts.length));
  });
  window.addEventListener("resize", function () {
    D.charts.forEach(function (c) {
      c.resize();
    });
  });

  // palette gives n distinct colours: ECharts' own for a few classes,
  // evenly spread hues (golden angle) for many.
  var base = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc", "#4d4d4d"];
  D.palette = function (n) {
    if (n <= base.length) return base.slice(0, n);
    var out = [];
    for (var i = 0; i < n; i++) {
      var h = (i * 137.508) % 360, l = [45, 60, 35][i % 3];
      out.push("hsl(" + h.toFixed(1) + ",65%," + l + "%)");
    }
    return out;
  };

  function init(id) {
    if (typeof echarts === "undefined") {
      throw new Error("ECharts did not load (this page links it from a CDN and the browser is offline)");
    }
    var c = echarts.init(document.getElementById(id + "-c"), null, { renderer: "canvas" });
    D.charts.push(c);
    return c;
  }

  function axisData(ax) {
    return (Array.isArray(ax) ? ax[0] : ax).data || [];
  }

  function thumb(src) {
    return src ? '<br><img class="thumb" alt="" src="' + D.esc(src) + '">' : "";
  }

  // chart draws one plot.* chart: option is the ECharts option built in Go,
  // extra carries what tooltips need besides it.
  D.chart = function (id, option, extra) {
    try {
      var c = init(id);
      var k = extra && D.kinds[extra.kind];
      if (k) k(option, extra, c);
      c.setOption(option);
    } catch (e) {
      D.fail(id, e);
    }
  };

  // Tooltips are built here rather than by ECharts' defaults, so that every
  // name from data goes through esc().
  D.kinds.line = function (option, x) {
    option.tooltip.formatter = function (ps) {
      if (!Array.isArray(ps)) ps = [ps];
      if (!ps.length) return "";
      var p0 = ps[0], s = D.esc(p0.axisValueLabel);
      if (Array.isArray(p0.value)) {
        // A value x axis: the x of the point, with the axis name.
        var ax = Array.isArray(option.xAxis) ? option.xAxis[0] : option.xAxis;
        s = (ax && ax.name ? D.esc(ax.name) + " " : "") + D.num(p0.value[0]);
      }
      ps.forEach(function (p) {
        var v = Array.isArray(p.value) ? p.value[1] : p.value;
        s += "<br>" + p.marker + D.esc(p.seriesName) + ": <b>" + D.num(v) + "</b>";
      });
      return s;
    };
    option.series.forEach(function (s) {
      if (!s.markPoint) return;
      if (x && x.dots) {
        s.markPoint.symbol = "circle";
        s.markPoint.symbolSize = 9;
        s.markPoint.label = { show: false };
        s.markPoint.itemStyle = { borderColor: "#1f2328", borderWidth: 1.5 };
      } else {
        s.markPoint.label = { formatter: function (p) { return D.num(p.value); }, fontSize: 10 };
      }
    });
  };
  D.kinds.bar = D.kinds.line;

  // Data items are [x, y, i] (or {value: [x, y, i]}): i indexes names and
  // thumbnails, which are kept once, beside the option.
  D.kinds.scatter = function (option, x) {
    option.tooltip.formatter = function (p) {
      var i = p.value[2], s = "";
      if (x.names && x.names[i] != null) s += "<b>" + D.esc(x.names[i]) + "</b><br>";
      else s += "#" + i + "<br>";
      if (x.classed) s += p.marker + D.esc(p.seriesName) + "<br>";
      s += "(" + D.num(p.value[0]) + ", " + D.num(p.value[1]) + ")";
      if (x.thumbs) s += thumb(x.thumbs[i]);
      return s;
    };
  };

  D.kinds.heatmap = function (option) {
    var xs = axisData(option.xAxis), ys = axisData(option.yAxis);
    option.tooltip.formatter = function (p) {
      return D.esc(ys[p.value[1]]) + " × " + D.esc(xs[p.value[0]]) + ": <b>" + D.num(p.value[2]) + "</b>";
    };
    option.series.forEach(function (s) {
      if (s.label && s.label.show) {
        s.label.formatter = function (p) {
          var v = p.value[2];
          return typeof v === "number" && Math.abs(v) < 5e-4 ? "0" : D.short(v);
        };
      }
    });
  };

  // Small multiples: the tooltip lists the lines of the hovered panel
  // (the band series, named "band:...", are not lines) with their spread.
  D.kinds.multiples = function (option, x) {
    option.series.forEach(function (s) {
      if (s.type === "custom") s.renderItem = band;
    });
    option.tooltip.formatter = function (ps) {
      if (!Array.isArray(ps)) ps = [ps];
      ps = ps.filter(function (p) {
        return !(p.seriesId && String(p.seriesId).indexOf("band:") === 0);
      });
      if (!ps.length) return "";
      var ax = option.xAxis[ps[0].axisIndex || 0] || {};
      var s = (ax.name ? D.esc(ax.name) + " " : "") + D.num(ps[0].value[0]);
      ps.forEach(function (p) {
        var b = x.bands && x.bands[p.seriesIndex], spread = "";
        if (b) spread = ' <span class="hint">[' + D.num(b[0][p.dataIndex]) + ", " + D.num(b[1][p.dataIndex]) + "]</span>";
        s += "<br>" + p.marker + D.esc(p.seriesName) + ": <b>" + D.num(p.value[1]) + "</b>" + spread;
      });
      return s;
    };
  };

  // band draws a custom series of [x, lo, hi] items as one filled polygon
  // (once per series: the first item draws, the others draw nothing).
  function band(params, api) {
    if (params.dataIndexInside !== 0) return null;
    var upper = [], lower = [];
    for (var i = 0; i < params.dataInsideLength; i++) {
      var x = api.value(0, i), lo = api.value(1, i), hi = api.value(2, i);
      if (!isFinite(x) || !isFinite(lo) || !isFinite(hi)) continue;
      upper.push(api.coord([x, hi]));
      lower.push(api.coord([x, lo]));
    }
    if (upper.length < 2) return null;
    return {
      type: "polygon",
      shape: { points: upper.concat(lower.reverse()) },
      style: { fill: api.visual("color"), opacity: 0.18 },
      silent: true,
    };
  }

  D.kinds.histogram = function (option, x) {
    option.tooltip.formatter = function (ps) {
      if (!ps.length) return "";
      var b = ps[0].dataIndex, s = "[" + D.num(x.edges[b]) + ", " + D.num(x.edges[b + 1]) + ")";
      ps.forEach(function (p) {
        s += "<br>" + p.marker + D.esc(p.seriesName) + ": <b>" + D.num(p.value) + "</b>";
      });
      return s;
    };
  };

  // embedding draws an embedding view: a scatter of 2-D coordinates
  // coloured by class, and a side panel listing the nearest neighbours (in
  // the original space) of the clicked point.
  D.embedding = function (id, d) {
    try {
      embedding(id, d);
    } catch (e) {
      D.fail(id, e);
    }
  };

  function embedding(id, d) {
    var c = init(id), panel = document.getElementById(id + "-p");
    var K = d.classes.length, colors = D.palette(K), series = [];
    for (var k = 0; k < K; k++) {
      series.push({
        name: d.classes[k], type: "scatter", data: [], symbolSize: d.size,
        itemStyle: { color: colors[k], opacity: 0.85 }, animation: false,
      });
    }
    for (var i = 0; i < d.x.length; i++) series[d.label[i]].data.push([d.x[i], d.y[i], i]);
    // The selection: the query and its neighbours, drawn on top.
    series.push({ id: "sel", name: "selection", type: "scatter", data: [], z: 10, silent: true, tooltip: { show: false }, animation: false });

    var nameOf = function (i) {
      return d.names && d.names[i] != null ? d.names[i] : "#" + i;
    };
    c.setOption({
      title: { text: d.title || "", left: "center", textStyle: { fontSize: 14 } },
      legend: { type: "scroll", bottom: 0, data: d.classes },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var i = p.value[2];
          return "<b>" + D.esc(nameOf(i)) + "</b><br>" + p.marker + D.esc(d.classes[d.label[i]]) +
            (d.thumbs ? thumb(d.thumbs[i]) : "") + (d.nn ? '<br><span class="hint">click: nearest neighbours</span>' : "");
        },
      },
      grid: { left: 40, right: 20, top: d.title ? 40 : 20, bottom: 50 },
      xAxis: { type: "value", scale: true, splitLine: { show: false } },
      yAxis: { type: "value", scale: true, splitLine: { show: false } },
      dataZoom: [{ type: "inside", xAxisIndex: 0, filterMode: "none" }, { type: "inside", yAxisIndex: 0, filterMode: "none" }],
      toolbox: { feature: { restore: {}, saveAsImage: {} } },
      series: series,
    });

    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text != null) e.textContent = text;
      return e;
    }
    function img(i) {
      if (!d.thumbs || !d.thumbs[i]) return null;
      var m = el("img", "thumb");
      m.alt = "";
      m.src = d.thumbs[i];
      return m;
    }

    function select(q) {
      var nn = (d.nn && d.nn[q]) || [], dist = (d.nd && d.nd[q]) || [];
      var sel = [{ value: [d.x[q], d.y[q], q], symbolSize: d.size * 3, itemStyle: { color: colors[d.label[q]], borderColor: "#000", borderWidth: 3 } }];
      nn.forEach(function (j) {
        sel.push({ value: [d.x[j], d.y[j], j], symbolSize: d.size * 2, itemStyle: { color: colors[d.label[j]], borderColor: "#000", borderWidth: 1.5 } });
      });
      c.setOption({ series: [{ id: "sel", data: sel }] });

      panel.textContent = "";
      var head = el("div", "query");
      var qi = img(q);
      if (qi) head.appendChild(qi);
      var qt = el("div");
      qt.appendChild(el("div", "name", nameOf(q)));
      qt.appendChild(el("div", "label", d.classes[d.label[q]]));
      head.appendChild(qt);
      panel.appendChild(head);
      if (!nn.length) {
        panel.appendChild(el("p", "hint", "No neighbours were computed for this point."));
        return;
      }
      var same = nn.filter(function (j) {
        return d.label[j] === d.label[q];
      }).length;
      panel.appendChild(el("p", "summary", same + " of " + nn.length + " nearest neighbours share its class"));
      var ol = el("ol", "neighbours");
      nn.forEach(function (j, r) {
        var ok = d.label[j] === d.label[q];
        var li = el("li", ok ? "same" : "other");
        li.title = "show the neighbours of " + nameOf(j);
        var m = img(j);
        if (m) li.appendChild(m);
        var t = el("div", "text");
        t.appendChild(el("div", "label", (ok ? "✓ " : "✗ ") + d.classes[d.label[j]]));
        t.appendChild(el("div", "dist", "#" + (r + 1) + "  " + nameOf(j) + "  d = " + D.num(dist[r])));
        li.appendChild(t);
        li.addEventListener("click", function () {
          select(j);
        });
        ol.appendChild(li);
      });
      panel.appendChild(ol);
    }
    c.on("click", function (p) {
      if (p.seriesIndex < K) select(p.value[2]);
    });
    D.select = D.select || {};
    D.select[id] = select; // for tests and the console
  }
})();
