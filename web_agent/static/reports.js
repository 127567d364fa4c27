/*
 * Hotline service reports page (supervisors): volume, workload, service times and the
 * category/tier distribution over a chosen period, drawn with charts.js. Plain browser
 * JavaScript; every value from the server is written with textContent.
 */
(function () {
  "use strict";

  const $ = window.HotlinePage.byId;
  const Charts = window.HotlineCharts;
  const page = window.HotlinePage.session({
    view: "reports",
    roles: ["supervisor", "admin"],
    refusal: "The reports are for supervisors.",
    withDetails: true,
    onSignedIn: function () { load(); },
  });
  const api = page.api;

  function hours(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 3600) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }

  function percent(rate) {
    return rate === null || rate === undefined ? "–" : (rate * 100).toFixed(1) + "%";
  }

  function isoDay(d) {
    const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
    return local.toISOString().slice(0, 10);
  }

  function setDays(days) {
    const to = new Date();
    const from = new Date(to.getTime() - (days - 1) * 86400000);
    $("period-from").value = isoDay(from);
    $("period-to").value = isoDay(to);
  }

  function row(body, cells) {
    const tr = body.insertRow();
    cells.forEach(function (value, i) {
      const cell = i === 0 ? document.createElement("th") : document.createElement("td");
      if (i === 0) cell.scope = "row";
      else cell.className = "num";
      cell.textContent = value;
      tr.appendChild(cell);
    });
  }

  function drawVolume(v) {
    Charts.line($("chart-volume-day"), {
      title: "Tickets per day",
      summary: "Tickets taken in per day, " + v.from + " to " + v.to,
      labels: v.by_day.map(function (d) { return d.day.slice(5); }),
      values: v.by_day.map(function (d) { return d.tickets; }),
      unit: "tickets",
    });
    Charts.bar($("chart-volume-category"), {
      title: "Tickets per category",
      labels: v.by_category.map(function (c) { return c.category; }),
      values: v.by_category.map(function (c) { return c.tickets; }),
      unit: "tickets",
    });
    Charts.bar($("chart-volume-channel"), {
      title: "Tickets per channel",
      labels: v.by_channel.map(function (c) { return c.channel; }),
      values: v.by_channel.map(function (c) { return c.tickets; }),
      unit: "tickets",
    });
  }

  function drawWorkload(w) {
    const names = w.agents.map(function (a) { return a.agent.name || "Agent " + a.agent.id; });
    Charts.stacked($("chart-workload"), {
      title: "Workload per handler",
      labels: names,
      series: [
        { name: "Open now", values: w.agents.map(function (a) { return a.open; }) },
        { name: "Resolved", values: w.agents.map(function (a) { return a.resolved; }) },
      ],
      unit: "tickets",
    });
    const body = $("workload-rows");
    body.replaceChildren();
    w.agents.forEach(function (a, i) {
      row(body, [names[i], String(a.open), String(a.resolved), hours(a.avg_handling_s)]);
    });
  }

  function drawTimes(t) {
    Charts.stacked($("chart-times"), {
      title: "Average hours to first response and to resolution",
      labels: t.categories.map(function (c) { return c.category; }),
      series: [
        { name: "First response", values: t.categories.map(function (c) { return (c.avg_first_response_s || 0) / 3600; }) },
        { name: "Then to resolution", values: t.categories.map(function (c) {
          return Math.max((c.avg_resolution_s || 0) - (c.avg_first_response_s || 0), 0) / 3600;
        }) },
      ],
      unit: "hours",
      format: function (v) { return Number(v).toFixed(v < 10 ? 1 : 0); },
    });
    const body = $("times-rows");
    body.replaceChildren();
    t.categories.forEach(function (c) {
      row(body, [c.category, String(c.tickets), hours(c.avg_first_response_s), hours(c.avg_resolution_s), percent(c.reopen_rate)]);
    });
  }

  function drawDistribution(d) {
    const categories = [];
    const tiers = [];
    d.cells.forEach(function (c) {
      if (categories.indexOf(c.category) < 0) categories.push(c.category);
      if (tiers.indexOf(c.tier) < 0) tiers.push(c.tier);
    });
    Charts.stacked($("chart-distribution"), {
      title: "Tickets per category and customer tier",
      labels: categories,
      series: tiers.map(function (tier) {
        return {
          name: tier,
          values: categories.map(function (category) {
            const cell = d.cells.find(function (c) { return c.category === category && c.tier === tier; });
            return cell ? cell.tickets : 0;
          }),
        };
      }),
      unit: "tickets",
    });
  }

  async function load(event) {
    if (event) event.preventDefault();
    const query = "?from=" + encodeURIComponent($("period-from").value) + "&to=" + encodeURIComponent($("period-to").value);
    $("period-message").textContent = "Loading…";
    try {
      const results = await Promise.all(
        ["volume", "workload", "service-times", "distribution"].map(function (name) {
          return api("GET", "/api/reports/" + name + query);
        })
      );
      drawVolume(results[0]);
      drawWorkload(results[1]);
      drawTimes(results[2]);
      drawDistribution(results[3]);
      $("period-message").textContent =
        "Showing " + results[0].from + " to " + results[0].to + " (" + results[0].timezone + " days).";
    } catch (err) {
      $("period-message").textContent = "The reports could not be loaded: " + err.message + " Check the dates and try again.";
    }
  }

  function start() {
    setDays(30);
    $("period").addEventListener("submit", load);
    document.querySelectorAll("[data-days]").forEach(function (b) {
      b.addEventListener("click", function () { setDays(Number(b.dataset.days)); load(); });
    });
    page.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
