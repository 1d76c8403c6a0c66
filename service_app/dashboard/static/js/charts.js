// The charts: Apache ECharts (vendored, see vendor/echarts/VERSION), canvas renderer.
import * as echarts from "../vendor/echarts/echarts.esm.min.js";
import { t } from "./i18n.js";

const charts = new Map();
const TEXT = "#c9d6e8";
const PALETTE = ["#3ba0ff", "#36cbcb", "#4ecb73", "#fbd437", "#f2637b", "#975fe5", "#ff9f43", "#5c7cfa", "#a0d911"];

// A chart follows its box: the grid settles after the first paint, and the window may be resized.
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) charts.get(entry.target.id)?.resize();
});

function chart(id) {
  if (!charts.has(id)) {
    const element = document.getElementById(id);
    charts.set(id, echarts.init(element, null, { renderer: "canvas" }));
    observer.observe(element);
  }
  return charts.get(id);
}

export function disposeAll() {
  observer.disconnect();
  for (const instance of charts.values()) instance.dispose();
  charts.clear();
}

const base = () => ({ color: PALETTE, textStyle: { color: TEXT }, animationDuration: 400 });

export function categoryPie(rows) {
  const data = rows.filter((row) => row.total > 0).map((row) => ({ name: row.label, value: row.total }));
  chart("chart-category").setOption({
    ...base(),
    tooltip: { trigger: "item", formatter: (item) => `${item.name}: ${item.value} (${Math.round(item.percent)}%)` },
    series: [{
      id: "category",
      type: "pie",
      radius: ["30%", "54%"],
      center: ["50%", "52%"],
      minShowLabelAngle: 8,
      label: { color: TEXT, formatter: (item) => `${item.name} ${Math.round(item.percent)}%` },
      labelLine: { length: 8, length2: 8 },
      data,
    }],
  }, true);
}

export function trendLines(points) {
  chart("chart-trend").setOption({
    ...base(),
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: [t("filed"), t("resolved")], textStyle: { color: TEXT } },
    grid: { left: 48, right: 24, top: 36, bottom: 28 },
    xAxis: { type: "category", data: points.map((p) => p.bucket.slice(0, 7)), axisLabel: { color: TEXT } },
    yAxis: { type: "value", axisLabel: { color: TEXT }, splitLine: { lineStyle: { color: "#1f3550" } } },
    series: [
      { id: "filed", name: t("filed"), type: "bar", data: points.map((p) => p.total) },
      { id: "resolved", name: t("resolved"), type: "line", smooth: true, data: points.map((p) => p.resolved_in_bucket) },
    ],
  }, true);
}

export function groupBars(id, title, rows) {
  const shown = rows.filter((row) => row.total > 0);
  chart(id).setOption({
    ...base(),
    title: { text: title, textStyle: { color: TEXT, fontSize: 13 }, left: 0 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { data: [t("filed"), t("resolved")], right: 0, textStyle: { color: TEXT } },
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: "value", axisLabel: { color: TEXT }, splitLine: { lineStyle: { color: "#1f3550" } } },
    yAxis: {
      type: "category", inverse: true, data: shown.map((row) => row.label), axisLabel: { color: TEXT, fontSize: 11, interval: 0 },
    },
    series: [
      { name: t("filed"), type: "bar", barGap: "10%", data: shown.map((row) => row.total) },
      { name: t("resolved"), type: "bar", data: shown.map((row) => row.resolved) },
    ],
  }, true);
}

export function coverageGauge(rate) {
  chart("chart-coverage").setOption({
    ...base(),
    series: [{
      type: "gauge",
      min: 0,
      max: 100,
      radius: "92%",
      center: ["50%", "58%"],
      progress: { show: true, width: 10 },
      axisLine: { lineStyle: { width: 10 } },
      axisTick: { show: false },
      splitLine: { length: 6, distance: -10 },
      axisLabel: { color: TEXT, distance: 14, fontSize: 10 },
      pointer: { show: false },
      detail: { valueAnimation: true, formatter: "{value}%", color: TEXT, fontSize: 24, offsetCenter: [0, "10%"] },
      data: [{ value: rate === null || rate === undefined ? 0 : Math.round(rate * 1000) / 10 }],
    }],
  }, true);
}
