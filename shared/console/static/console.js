// careflow console: the funnel's charts (Chart.js) and the upload progress bar (htmx events).
(function () {
  "use strict";
  var data = document.getElementById("chart-data");
  if (data && window.Chart) {
    var charts = JSON.parse(data.textContent);
    var labels = JSON.parse(document.getElementById("chart-labels").textContent);
    var options = { responsive: true, maintainAspectRatio: false, animation: false };
    new Chart(document.getElementById("chart-funnel"), {
      type: "bar",
      data: { labels: labels.funnel, datasets: [{ label: "", data: charts.funnel.values, backgroundColor: "#0b4f8a" }] },
      options: Object.assign({ indexAxis: "y", plugins: { legend: { display: false } } }, options)
    });
    new Chart(document.getElementById("chart-trend"), {
      type: "line",
      data: { labels: charts.trend.labels, datasets: [
        { label: labels.imported, data: charts.trend.imported, borderColor: "#0b4f8a" },
        { label: labels.supported, data: charts.trend.supported, borderColor: "#17803a" }] },
      options: options
    });
    new Chart(document.getElementById("chart-provinces"), {
      type: "bar",
      data: { labels: charts.provinces.labels, datasets: [
        { label: labels.imported, data: charts.provinces.imported, backgroundColor: "#9bb8d3" },
        { label: labels.supported, data: charts.provinces.supported, backgroundColor: "#17803a" },
        { label: labels.escalated, data: charts.provinces.escalated, backgroundColor: "#c0392b" }] },
      options: options
    });
  }
  document.body.addEventListener("htmx:xhr:progress", function (evt) {
    var bar = document.getElementById("progress");
    if (bar && evt.detail.lengthComputable) {
      bar.value = Math.round(evt.detail.loaded * 100 / evt.detail.total);
    }
  });
})();
