/*
 * Hotline charts: small SVG bar, line and stacked-bar charts with axes, labels, tooltips and an
 * accessible text alternative (a summary and a hidden data table). No dependencies, no build step.
 *
 *   HotlineCharts.bar(container, {title, labels, values, unit?, format?})
 *   HotlineCharts.line(container, {title, labels, values, unit?, format?})
 *   HotlineCharts.stacked(container, {title, labels, series: [{name, values}], unit?, format?})
 *
 * Every text is set with textContent, so a label from the server can never become markup.
 */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  // Drawn at the container's own width, so 11px text stays 11px on a wide card and a narrow one.
  const MIN_WIDTH = 320;
  const WIDTH = 640;
  const HEIGHT = 260;
  const PAD = { top: 28, right: 16, bottom: 56, left: 56 };
  const SERIES_CLASSES = ["series-0", "series-1", "series-2", "series-3", "series-4", "series-5"];

  function node(name, attrs, parent) {
    const el = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { el.setAttribute(key, String(attrs[key])); });
    if (parent) parent.appendChild(el);
    return el;
  }

  function text(parent, x, y, value, attrs) {
    const t = node("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = value;
    return t;
  }

  function tooltip(el, value) {
    const title = node("title", {}, el);
    title.textContent = value;
  }

  /** A "nice" axis maximum and step for values up to `max` (1, 2 or 5 times a power of ten). */
  function niceScale(max) {
    if (!(max > 0)) return { max: 1, step: 1 };
    const rough = max / 4;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map(function (m) { return m * power; }).find(function (s) { return s >= rough; });
    return { max: Math.ceil(max / step) * step, step: step };
  }

  function frame(container, opts, max) {
    container.replaceChildren();
    container.classList.add("chart");
    const heading = document.createElement("h3");
    heading.className = "chart-title";
    heading.textContent = opts.title;
    container.appendChild(heading);
    const width = Math.max(MIN_WIDTH, Math.round(container.clientWidth) || WIDTH);
    const svg = node("svg", {
      viewBox: "0 0 " + width + " " + HEIGHT,
      role: "img",
      class: "chart-svg",
      "aria-label": opts.summary || opts.title,
    });
    container.appendChild(svg);
    const scale = niceScale(max);
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const y = function (v) { return PAD.top + plotH - (v / scale.max) * plotH; };
    const format = opts.format || function (v) { return String(v); };
    const axis = node("g", { class: "chart-axis" }, svg);
    for (let v = 0; v <= scale.max + scale.step / 2; v += scale.step) {
      node("line", { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: "chart-grid" }, axis);
      text(axis, PAD.left - 6, y(v) + 4, format(v), { "text-anchor": "end" });
    }
    node("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + plotH, class: "chart-line-axis" }, axis);
    node("line", { x1: PAD.left, x2: width - PAD.right, y1: y(0), y2: y(0), class: "chart-line-axis" }, axis);
    if (opts.unit) text(axis, 4, PAD.top - 14, opts.unit, { class: "chart-unit" });
    return { svg: svg, y: y, format: format, width: width };
  }

  function slots(count, chartWidth) {
    const plotW = chartWidth - PAD.left - PAD.right;
    const width = plotW / Math.max(count, 1);
    return { width: width, x: function (i) { return PAD.left + i * width; } };
  }

  function xLabels(svg, labels, slot) {
    // Thin the labels out on long periods so they never overlap.
    const every = Math.ceil(labels.length / 12);
    const g = node("g", { class: "chart-axis" }, svg);
    labels.forEach(function (label, i) {
      if (i % every !== 0) return;
      const cx = slot.x(i) + slot.width / 2;
      const t = text(g, cx, HEIGHT - PAD.bottom + 16, label, { "text-anchor": "middle" });
      if (labels.length > 6) {
        t.setAttribute("text-anchor", "end");
        t.setAttribute("transform", "rotate(-35 " + cx + " " + (HEIGHT - PAD.bottom + 16) + ")");
      }
    });
  }

  function dataTable(container, title, labels, series, format) {
    const table = document.createElement("table");
    table.className = "visually-hidden";
    const caption = document.createElement("caption");
    caption.textContent = title;
    table.appendChild(caption);
    const head = table.createTHead().insertRow();
    [""].concat(series.map(function (s) { return s.name; })).forEach(function (name) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    });
    const body = table.createTBody();
    labels.forEach(function (label, i) {
      const row = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      row.appendChild(th);
      series.forEach(function (s) { row.insertCell().textContent = format(s.values[i]); });
    });
    container.appendChild(table);
  }

  function empty(container, opts) {
    container.replaceChildren();
    container.classList.add("chart");
    const heading = document.createElement("h3");
    heading.className = "chart-title";
    heading.textContent = opts.title;
    const note = document.createElement("p");
    note.className = "chart-empty";
    note.textContent = "No tickets in this period.";
    container.append(heading, note);
  }

  function stacked(container, opts) {
    const labels = opts.labels;
    const series = opts.series;
    const totals = labels.map(function (_, i) {
      return series.reduce(function (sum, s) { return sum + (s.values[i] || 0); }, 0);
    });
    if (!labels.length || Math.max.apply(null, totals) <= 0) return empty(container, opts);
    const f = frame(container, opts, Math.max.apply(null, totals));
    const slot = slots(labels.length, f.width);
    const bars = node("g", { class: "chart-bars" }, f.svg);
    labels.forEach(function (label, i) {
      let base = 0;
      series.forEach(function (s, k) {
        const v = s.values[i] || 0;
        if (v <= 0) return;
        const rect = node("rect", {
          x: slot.x(i) + slot.width * 0.15,
          width: slot.width * 0.7,
          y: f.y(base + v),
          height: Math.max(f.y(base) - f.y(base + v), 0),
          class: "chart-bar " + SERIES_CLASSES[k % SERIES_CLASSES.length],
          "data-label": label,
        }, bars);
        tooltip(rect, label + (series.length > 1 ? " · " + s.name : "") + ": " + f.format(v));
        base += v;
      });
    });
    xLabels(f.svg, labels, slot);
    if (series.length > 1) {
      const legend = document.createElement("ul");
      legend.className = "chart-legend";
      series.forEach(function (s, k) {
        const item = document.createElement("li");
        const swatch = document.createElement("span");
        swatch.className = "chart-swatch " + SERIES_CLASSES[k % SERIES_CLASSES.length];
        swatch.setAttribute("aria-hidden", "true");
        item.append(swatch, document.createTextNode(s.name));
        legend.appendChild(item);
      });
      container.appendChild(legend);
    }
    dataTable(container, opts.title, labels, series, f.format);
  }

  function bar(container, opts) {
    stacked(container, Object.assign({}, opts, { series: [{ name: opts.seriesName || opts.title, values: opts.values }] }));
  }

  function line(container, opts) {
    const labels = opts.labels;
    const values = opts.values;
    if (!labels.length) return empty(container, opts);
    const f = frame(container, opts, Math.max.apply(null, values.concat([0])));
    const slot = slots(labels.length, f.width);
    const points = values.map(function (v, i) { return [slot.x(i) + slot.width / 2, f.y(v)]; });
    node("polyline", {
      points: points.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" "),
      class: "chart-path",
      fill: "none",
    }, f.svg);
    const dots = node("g", { class: "chart-dots" }, f.svg);
    points.forEach(function (p, i) {
      const dot = node("circle", { cx: p[0], cy: p[1], r: 4, class: "chart-dot", "data-label": labels[i] }, dots);
      tooltip(dot, labels[i] + ": " + f.format(values[i]));
    });
    xLabels(f.svg, labels, slot);
    dataTable(container, opts.title, labels, [{ name: opts.seriesName || opts.title, values: values }], f.format);
  }

  window.HotlineCharts = Object.freeze({ bar: bar, line: line, stacked: stacked, niceScale: niceScale });
})();
