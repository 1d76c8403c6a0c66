// The dashboard: login form, then the panels of DESIGN §12 for the signed-in user's scope.
import * as api from "./api.js";
import * as charts from "./charts.js";
import { LANG, applyLabels, dateTime, number, percent, t } from "./i18n.js";

const ROLES = new Set(["manager", "department", "cadre"]);
const LIST_LIMIT = 100;

const state = { user: null, timer: null, loading: false };
const $ = (id) => document.getElementById(id);

function element(tag, { className, text, title } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (title) node.title = title;
  node.append(...children);
  return node;
}

function fill(list, nodes) {
  list.replaceChildren(...(nodes.length ? nodes : [element("li", { className: "empty", text: t("noItems") })]));
}

// --- messages ------------------------------------------------------------------------------------

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message").textContent = "";
}

function report(error) {
  if (error instanceof api.SessionEnded) {
    showLogin(t("sessionEnded"));
    return true;
  }
  showMessage(error instanceof api.ApiError ? error.message : String(error));
  return false;
}

// --- login and session ---------------------------------------------------------------------------

function showLogin(message) {
  stopAutoRefresh();
  state.user = null;
  api.forget();
  charts.disposeAll();
  $("board").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message || "";
  document.body.dataset.view = "login";
  $("username").focus();
}

async function showBoard(user) {
  if (!ROLES.has(user.role)) {
    await api.logout();
    showLogin(t("notAllowed"));
    return;
  }
  state.user = user;
  $("login").hidden = true;
  $("board").hidden = false;
  document.body.dataset.role = user.role;
  const scope = { manager: "scopeManager", department: "scopeDepartment", cadre: "scopeCadre" }[user.role];
  $("scope").textContent = `${user.name || user.username} · ${t(scope)}`;
  $("panel-review").hidden = user.role !== "manager";
  $("panel-coverage").hidden = user.role === "department";
  await loadReferences();
  await reload();
  startAutoRefresh();
}

async function onLogin(event) {
  event.preventDefault();
  const button = $("login-submit");
  button.disabled = true;
  try {
    const user = await api.login($("username").value.trim(), $("password").value);
    $("password").value = "";
    await showBoard(user);
  } catch (error) {
    const message = error instanceof api.ApiError ? error.message : t("loginFailed");
    $("login-error").textContent = message;
    $("login-error").hidden = false;
  } finally {
    button.disabled = false;
  }
}

// --- filters -------------------------------------------------------------------------------------

function filters() {
  return {
    from: $("filter-from").value,
    to: $("filter-to").value,
    park_id: $("filter-park").value,
    chain_id: $("filter-chain").value,
  };
}

async function loadReferences() {
  const [parks, chains] = await Promise.all([api.get("/parks"), api.get("/chains")]);
  for (const [select, rows] of [[$("filter-park"), parks], [$("filter-chain"), chains]]) {
    const items = Array.isArray(rows) ? rows : rows.items;
    const keep = select.value;
    select.replaceChildren(select.options[0], ...items.map((row) => {
      const option = element("option", { text: LANG === "en" && row.name_en ? row.name_en : row.name });
      option.value = String(row.id);
      return option;
    }));
    select.value = keep;
  }
}

// --- panels --------------------------------------------------------------------------------------

function setTile(id, text) {
  $(id).querySelector(".value").textContent = text;
}

function renderSummary(summary) {
  setTile("tile-total", number(summary.total));
  setTile("tile-resolved", number(summary.resolved));
  setTile("tile-resolution", percent(summary.resolution_rate));
  setTile("tile-response", percent(summary.response_rate));
  setTile("tile-on-time", percent(summary.on_time_rate));
  setTile("tile-satisfaction", percent(summary.satisfaction_rate));
  setTile("tile-overdue", number(summary.overdue));
  setTile("tile-supervised", number(summary.supervised));
  $("updated").textContent = `${t("updatedAt")}: ${dateTime(summary.computed_at)}`;
}

function renderCategories(body) {
  const rows = body.rows.filter((row) => row.total > 0);
  charts.categoryPie(rows);
  $("table-category").tBodies[0].replaceChildren(...rows.map((row) => {
    const tr = element("tr", {}, [
      element("td", { text: row.label }),
      element("td", { className: "num", text: number(row.total) }),
      element("td", { className: "num share", text: percent(row.share) }),
    ]);
    tr.dataset.code = row.code || "";
    return tr;
  }));
}

function renderDepartments(body) {
  const rows = body.rows.filter((row) => row.total > 0 && row.key !== null)
    .sort((a, b) => (b.resolution_rate ?? -1) - (a.resolution_rate ?? -1) || b.total - a.total);
  $("table-departments").tBodies[0].replaceChildren(...rows.map((row) => element("tr", {}, [
    element("td", { text: row.label }),
    element("td", { className: "num", text: number(row.total) }),
    element("td", { className: "num", text: percent(row.resolution_rate) }),
    element("td", { className: "num", text: percent(row.response_rate) }),
    element("td", { className: "num", text: percent(row.on_time_rate) }),
  ])));
}

function problemItem(problem) {
  const due = `${t("due")} ${dateTime(problem.due_at)}`;
  const item = element("li", { className: "problem" }, [
    element("span", { className: "code", text: problem.code }),
    element("span", { className: "title", text: problem.title, title: problem.title }),
    element("span", { className: "who", text: problem.department_name || problem.enterprise_name || "" }),
    element("span", { className: "due", text: due }),
  ]);
  item.tabIndex = 0;
  item.dataset.problemId = String(problem.id);
  item.addEventListener("click", () => openProblem(problem.id));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter") openProblem(problem.id);
  });
  return item;
}

function renderProblems(listId, countId, page, count) {
  fill($(listId), page.items.map(problemItem));
  $(countId).textContent = count === undefined ? "" : `(${count})`;
}

function renderCommon(body) {
  const suffix = (n, key) => (LANG === "en" ? `${n} ${t(key)}` : `${n} ${t(key)}`);
  const categories = body.categories.map((row) => element("li", {}, [
    element("strong", { text: row.label }),
    element("span", { text: ` ${suffix(row.enterprises, "enterprises")} · ${suffix(row.problems, "problems")}` }),
  ]));
  const themes = body.themes.map((row) => element("li", { className: "theme" }, [
    element("strong", { text: `“${row.term}”` }),
    element("span", { text: ` ${suffix(row.enterprises, "enterprises")} · ${suffix(row.problems, "problems")}` }),
  ]));
  fill($("list-common"), [...categories, ...themes]);
}

function renderCoverage(summary, report) {
  const rate = report ? report.overall.rate : summary.coverage;
  charts.coverageGauge(summary.coverage ?? rate);
  if (!report) return;
  const overall = report.overall;
  $("coverage-note").textContent = t("coverageNote", { linked: overall.linked, visited: overall.visited, days: report.days });
  fill($("list-coverage"), report.items.slice(0, 20).map((row) => element("li", {}, [
    element("span", { text: row.cadre_name || `#${row.cadre_id}` }),
    element("span", { className: "num", text: `${row.visited}/${row.linked} · ${percent(row.rate)}` }),
  ])));
}

function reviewItem(visit) {
  const confirm = element("button", { className: "confirm", text: t("confirm") });
  const dismiss = element("button", { className: "dismiss", text: t("dismiss") });
  const item = element("li", { className: "review" }, [
    element("div", { className: "what" }, [
      element("strong", { text: visit.cadre_name || "" }),
      element("span", { text: ` → ${visit.enterprise_name || ""}` }),
      element("div", { className: "meta", text: `${dateTime(visit.recorded_at)} · ${(visit.flag_labels || []).join("、")}` }),
    ]),
    element("div", { className: "buttons" }, [confirm, dismiss]),
  ]);
  item.dataset.visitId = String(visit.id);
  for (const [button, decision] of [[confirm, "confirm"], [dismiss, "dismiss"]]) {
    button.addEventListener("click", () => review(visit.id, decision, item));
  }
  return item;
}

async function review(visitId, decision, item) {
  for (const button of item.querySelectorAll("button")) button.disabled = true;
  try {
    await api.post(`/visits/${visitId}/review`, { decision });
    item.remove();
    const count = $("list-review").querySelectorAll("li.review").length;
    $("count-review").textContent = `(${count})`;
  } catch (error) {
    for (const button of item.querySelectorAll("button")) button.disabled = false;
    report(error);
  }
}

// --- problem detail ------------------------------------------------------------------------------

async function openProblem(problemId) {
  try {
    const [problem, events] = await Promise.all([
      api.get(`/problems/${problemId}`), api.get(`/problems/${problemId}/events`),
    ]);
    const label = (zh, en) => (LANG === "en" && en ? en : zh);
    const rows = [
      [t("status"), label(problem.status_label, problem.status_label_en)],
      [t("category"), label(problem.category_label, problem.category_label_en)],
      [t("enterprise"), problem.enterprise_name],
      [t("department"), problem.department_name || "–"],
      [t("handler"), problem.handler_name || "–"],
      [t("due"), dateTime(problem.due_at)],
    ];
    $("problem-detail").replaceChildren(
      element("h2", { text: `${problem.code} ${problem.title}` }),
      element("dl", {}, rows.flatMap(([term, value]) => [element("dt", { text: term }), element("dd", { text: value })])),
      element("p", { className: "description", text: problem.description }),
    );
    $("problem-timeline").replaceChildren(...events.map((event) => element("li", {}, [
      element("time", { text: dateTime(event.created_at) }),
      element("strong", { text: ` ${label(event.action_label, event.action_label_en)} ` }),
      element("span", { text: [event.actor_name, event.department_name, event.note].filter(Boolean).join(" · ") }),
    ])));
    $("problem-dialog").showModal();
  } catch (error) {
    report(error);
  }
}

// --- loading -------------------------------------------------------------------------------------

async function reload() {
  if (state.loading || !state.user) return;
  state.loading = true;
  document.body.dataset.loading = "true";
  const scope = filters();
  const role = state.user.role;
  const tasks = {
    summary: api.get("/stats/summary", scope),
    category: api.get("/stats/by/category", scope),
    department: api.get("/stats/by/department", scope),
    park: api.get("/stats/by/park", scope),
    chain: api.get("/stats/by/chain", scope),
    trend: api.get("/stats/trend", { ...scope, interval: "month" }),
    common: api.get("/stats/common-problems", scope),
    overdue: api.get("/problems", { overdue: true, limit: LIST_LIMIT }),
    supervised: api.get("/problems", { supervised: true, limit: LIST_LIMIT }),
    coverage: role === "department" ? Promise.resolve(null) : api.get("/visits/coverage", { limit: 20 }),
    review: role === "manager" ? api.get("/visits", { review: "pending", limit: LIST_LIMIT }) : Promise.resolve(null),
  };
  const names = Object.keys(tasks);
  const results = await Promise.allSettled(Object.values(tasks));
  const data = {};
  const failures = [];
  results.forEach((result, index) => {
    if (result.status === "fulfilled") data[names[index]] = result.value;
    else failures.push(result.reason);
  });
  try {
    if (failures.some((error) => error instanceof api.SessionEnded)) {
      showLogin(t("sessionEnded"));
      return;
    }
    if (failures.length) report(failures[0]);
    else clearMessage();
    render(data);
  } catch (error) {
    report(error);
  } finally {
    state.loading = false;
    document.body.dataset.loading = "false";
    document.body.dataset.loaded = String(Date.now());
  }
}

function render(data) {
  if (data.summary) renderSummary(data.summary);
  if (data.category) renderCategories(data.category);
  if (data.trend) charts.trendLines(data.trend.points);
  if (data.department) renderDepartments(data.department);
  if (data.park) charts.groupBars("chart-parks", t("byPark"), data.park.rows);
  if (data.chain) charts.groupBars("chart-chains", t("byChain"), data.chain.rows);
  if (data.overdue) renderProblems("list-overdue", "count-overdue", data.overdue, data.summary?.overdue);
  if (data.supervised) renderProblems("list-supervised", "count-supervised", data.supervised);
  if (data.common) renderCommon(data.common);
  if (data.summary && state.user.role !== "department") renderCoverage(data.summary, data.coverage);
  if (data.review) {
    fill($("list-review"), data.review.items.map(reviewItem));
    $("count-review").textContent = `(${data.review.items.length}${data.review.next_cursor ? "+" : ""})`;
  }
}

// --- auto refresh --------------------------------------------------------------------------------

function stopAutoRefresh() {
  if (state.timer !== null) clearInterval(state.timer);
  state.timer = null;
}

function startAutoRefresh() {
  stopAutoRefresh();
  const seconds = Number($("auto-refresh").value);
  if (seconds > 0) state.timer = setInterval(() => reload(), seconds * 1000);
}

// --- start ---------------------------------------------------------------------------------------

async function exportFile(format) {
  try {
    await api.download("/stats/export", { ...filters(), format });
  } catch (error) {
    report(error);
  }
}

function bind() {
  $("login-form").addEventListener("submit", onLogin);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });
  $("refresh").addEventListener("click", () => reload());
  $("auto-refresh").addEventListener("change", startAutoRefresh);
  $("export-csv").addEventListener("click", () => exportFile("csv"));
  $("export-xlsx").addEventListener("click", () => exportFile("xlsx"));
  $("logout").addEventListener("click", async () => {
    await api.logout();
    showLogin("");
  });
}

async function start() {
  applyLabels();
  bind();
  if (!api.hasSession()) {
    showLogin("");
    return;
  }
  try {
    await showBoard(await api.get("/me"));
  } catch (error) {
    if (!report(error)) showLogin(error.message);
  }
}

start();
