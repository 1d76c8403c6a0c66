// The main story through a TypeScript client, as a uni-app/H5 team would write it: openapi-fetch's
// createClient<paths> over the types openapi-typescript generates from the OpenAPI document
// (schema.d.ts, generated at test time). tests/test_generated_clients.py type-checks this file with
// `tsc --noEmit --strict` and checks that a misspelt field is refused. It is compiled, not run.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Problem = components["schemas"]["ProblemDetail"];

function must<T>(data: T | undefined, error: components["schemas"]["Error"] | undefined): T {
  if (data === undefined) {
    throw new Error(`${error?.error_code}: ${error?.message}`);
  }
  return data;
}

export async function session(baseUrl: string, username: string, password: string) {
  const api = createClient<paths>({ baseUrl });
  const { data, error } = await api.POST("/api/v1/auth/login", { body: { username, password } });
  const token: components["schemas"]["Token"] = must(data, error);
  const role: string = token.user.role;
  console.log(role, token.expires_in);
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token.access_token}` } });
}

export async function story(baseUrl: string): Promise<Problem> {
  const ent = await session(baseUrl, "ent012", "Demo@2019");
  const cadre = await session(baseUrl, "cadre012", "Demo@2019");
  const dept = await session(baseUrl, "dept09", "Demo@2019");
  const manager = await session(baseUrl, "manager", "Demo@2019");

  const categories = await ent.GET("/api/v1/categories");
  const category = must(categories.data, categories.error).find((c) => c.name === "配套服务");
  if (category === undefined) throw new Error("no 配套服务");

  const upload = await ent.POST("/api/v1/attachments", {
    body: { file: "" },
    bodySerializer: () => {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: "image/png" }), "路灯.png");
      return form;
    },
  });
  const photo = must(upload.data, upload.error);

  const filed = await ent.POST("/api/v1/problems", {
    body: {
      title: "园区道路照明不足，夜班员工出行不便",
      description: "园区 3 号路路灯损坏一个多月，夜班员工出行不安全。",
      category_id: category.id,
      attachment_ids: [photo.id],
    },
    params: { header: { "Idempotency-Key": "6f1c2a9e-3b4d-4c5e-9f10-2a3b4c5d6e7f" } },
  });
  let problem: Problem = must(filed.data, filed.error);
  const path = { problem_id: problem.id };

  const accepted = await cadre.POST("/api/v1/problems/{problem_id}/accept", { params: { path }, body: {} });
  problem = must(accepted.data, accepted.error);
  const dispatched = await cadre.POST("/api/v1/problems/{problem_id}/dispatch", { params: { path }, body: {} });
  problem = must(dispatched.data, dispatched.error);
  const claimed = await dept.POST("/api/v1/problems/{problem_id}/claim", { params: { path }, body: {} });
  problem = must(claimed.data, claimed.error);
  const resolved = await dept.POST("/api/v1/problems/{problem_id}/resolve", {
    params: { path },
    body: { resolution: "已更换 3 号路 12 盏路灯并恢复夜间照明。" },
  });
  problem = must(resolved.data, resolved.error);
  if (problem.status !== "resolved") throw new Error(problem.status_label);

  const rated = await ent.POST("/api/v1/problems/{problem_id}/rating", {
    params: { path },
    body: { score: 5, comment: "路灯修好了，响应很快，谢谢！" },
  });
  problem = must(rated.data, rated.error);

  const visit = await cadre.POST("/api/v1/visits/check-in", {
    body: { enterprise_id: problem.enterprise_id, lat: 27.7763, lng: 113.0719, accuracy_m: 12 },
  });
  const checkedIn = must(visit.data, visit.error);
  const far: boolean = !checkedIn.within_geofence;
  console.log(far, checkedIn.flags.join(","));

  const summary = await manager.GET("/api/v1/stats/summary", { params: { query: { park_id: 1 } } });
  const figures = must(summary.data, summary.error);
  console.log(`已解决 ${figures.resolved} 个 / 共 ${figures.total} 个`);
  return problem;
}
