// Labels: Chinese by default, English when the browser prefers English (as the API does with Accept-Language).

const TEXT = {
  appTitle: ["联企服务 · 领导驾驶舱", "Enterprise service · dashboard"],
  username: ["用户名", "User name"],
  password: ["密码", "Password"],
  login: ["登录", "Log in"],
  logout: ["退出", "Log out"],
  from: ["从", "From"],
  to: ["至", "To"],
  park: ["园区", "Park"],
  chain: ["产业链", "Chain"],
  all: ["全部", "All"],
  apply: ["查询", "Apply"],
  refresh: ["刷新", "Refresh"],
  autoRefresh: ["自动刷新", "Auto refresh"],
  off: ["关闭", "Off"],
  exportCsv: ["导出 CSV", "Export CSV"],
  exportXlsx: ["导出 Excel", "Export Excel"],
  tileTotal: ["收集", "Filed"],
  tileResolved: ["已解决", "Resolved"],
  tileResolution: ["解决率", "Resolution rate"],
  tileResponse: ["响应率", "Response rate"],
  tileOnTime: ["按时办结率", "On-time rate"],
  tileSatisfaction: ["满意率", "Satisfaction"],
  tileOverdue: ["超期", "Overdue"],
  tileSupervised: ["督办", "Supervised"],
  categoryShares: ["问题类别占比", "Shares by category"],
  category: ["类别", "Category"],
  count: ["数量", "Problems"],
  share: ["占比", "Share"],
  monthlyTrend: ["月度趋势（收集 / 解决）", "Monthly trend (filed / resolved)"],
  filed: ["收集", "Filed"],
  resolved: ["解决", "Resolved"],
  departmentLeague: ["部门排行", "Departments"],
  department: ["部门", "Department"],
  resolutionRate: ["解决率", "Resolution"],
  responseRate: ["响应率", "Response"],
  onTimeRate: ["按时率", "On time"],
  parksAndChains: ["园区与产业链", "Parks and industry chains"],
  byPark: ["按园区", "By park"],
  byChain: ["按产业链", "By chain"],
  overdueProblems: ["超期问题", "Overdue problems"],
  supervisedProblems: ["督办问题", "Supervised problems"],
  commonProblems: ["共性问题", "Common problems"],
  enterprises: ["家企业", "enterprises"],
  problems: ["个问题", "problems"],
  visitCoverage: ["走访覆盖率", "Visit coverage"],
  coverageNote: ["仪表为所选期间末的覆盖率。截至今日近 {days} 天：结对企业 {linked} 家，已走访 {visited} 家；覆盖率最低的干部：",
    "The gauge: coverage at the end of the period. Last {days} days to today: {visited} of {linked} linked "
    + "enterprises visited; lowest coverage:"],
  reviewQueue: ["待审核签到", "Check-ins to review"],
  confirm: ["确认", "Confirm"],
  dismiss: ["驳回", "Dismiss"],
  noItems: ["暂无", "None"],
  close: ["关闭", "Close"],
  timeline: ["处理时间线", "Timeline"],
  due: ["期限", "Due"],
  status: ["状态", "Status"],
  enterprise: ["企业", "Enterprise"],
  handler: ["承办人", "Handler"],
  description: ["问题描述", "Description"],
  updatedAt: ["数据时间", "Figures as of"],
  scopeManager: ["全区", "Whole zone"],
  scopeDepartment: ["本部门", "Own department"],
  scopeCadre: ["本人结对企业", "Own linked enterprises"],
  notAllowed: ["该账号无权查看驾驶舱", "This account cannot use the dashboard"],
  sessionEnded: ["登录已过期，请重新登录", "Your session has ended; please log in again"],
  networkError: ["无法连接服务器", "Cannot reach the server"],
  loginFailed: ["登录失败", "Login failed"],
  more: ["及更多", "or more"],
};

export const LANG = (navigator.languages && navigator.languages[0] || navigator.language || "zh").toLowerCase()
  .startsWith("en") ? "en" : "zh";

export function t(key, params = {}) {
  const pair = TEXT[key];
  let text = pair ? pair[LANG === "en" ? 1 : 0] : key;
  for (const [name, value] of Object.entries(params)) {
    text = text.replace(`{${name}}`, String(value));
  }
  return text;
}

export function applyLabels(root = document) {
  document.documentElement.lang = LANG === "en" ? "en" : "zh-CN";
  document.title = t("appTitle");
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)}%`;
}

export function number(value) {
  return value === null || value === undefined ? "–" : value.toLocaleString(LANG === "en" ? "en" : "zh-CN");
}

export function dateTime(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(LANG === "en" ? "en-GB" : "zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}
