// Signs in, lists teams and logs a session using only the types openapi-typescript generates from the
// committed document; compiled under `tsc --strict` by .ci/run, so a contract a client cannot use fails
// the build (a login answer typed as a training session did, before SignInResponse).
import type { components, paths } from "./api";
type SignIn = components["schemas"]["SignInResponse"];
type Session = components["schemas"]["TrainingSessionResponse"];
type NewSession = components["schemas"]["CreateSessionRequest"];
type TeamList = paths["/api/v1/teams"]["get"]["responses"][200]["content"]["application/json"];
const base = "http://127.0.0.1:8080";
async function signIn(username: string, password: string): Promise<SignIn> {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }) });
  return (await r.json()) as SignIn;
}
export async function main(): Promise<void> {
  const session = await signIn("demo.leader", "x");
  const token: string = session.access_token;
  const teams = (await (await fetch(`${base}/api/v1/teams`, { headers: { Authorization: `Bearer ${token}` } })).json()) as TeamList;
  const team = teams.items[0];
  const kind: "training" | "outreach" = "training";
  const body: NewSession = { team_id: team.id, kind, held_on: "2026-12-01", duration_minutes: 90, format: "in_person", topics: ["vneid"], participants_total: 10, participants_female: 5, participants_ethnic_minority: 6, participants_elderly: 1, households_reached: 8 };
  const created = (await (await fetch(`${base}/api/v1/training-sessions`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) })).json()) as Session;
  const k: Session["kind"] = created.kind;
  // @ts-expect-error a kind outside the vocabulary does not type-check
  const wrong: Session["kind"] = "party";
  console.log(k, wrong);
}
