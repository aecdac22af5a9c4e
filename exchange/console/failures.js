// Parked failures: search, select, dry run, replay (canary, rate, a required reason).
import { post, get } from "/console/api.js";
import { field, formValues, h, panel, table, tag, when } from "/console/dom.js";

export async function failuresView(params) {
  const filters = { status: "parked", ...params };
  const page = await get("/ops/failures", filters);
  const form = h("form", { class: "filters", id: "failure-search", "aria-label": "Search failures" },
    field("PTIURN", { name: "case_urn", id: "f-case-urn", value: filters.case_urn || "" }),
    field("Error code", { name: "error_code", value: filters.error_code || "" }),
    field("Consumer", { name: "consumer", value: filters.consumer || "" }),
    h("label", {}, "Status", h("select", { name: "status" },
      ["parked", "replayed", "any"].map((s) =>
        h("option", { value: s, selected: s === filters.status }, s)))),
    h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = "#/failures?" + new URLSearchParams(formValues(form));
  });

  const checks = [];
  const rows = table([
    ["", (f) => { const c = h("input", { type: "checkbox", value: f.id, "aria-label": `select failure ${f.id}`,
      checked: f.status === "parked", disabled: f.status !== "parked" }); checks.push(c); return c; }],
    ["Case", (f) => h("a", { href: `#/case/${encodeURIComponent(f.case_urn || "")}` }, f.case_urn)],
    ["Type", (f) => f.message_type],
    ["Consumer", (f) => f.consumer],
    ["Error", (f) => [h("strong", {}, f.error_code), h("div", { class: "muted" }, f.error_message)]],
    ["Status", (f) => tag(f.status)],
    ["Replays", (f) => String(f.replay_count)],
    ["Parked", (f) => when(f.created_at)],
    ["", (f) => f.message_id ? h("a", { href: `#/message/${f.message_id}` }, "Inspect") : ""],
  ], page.items, { id: "failures" });

  const result = h("div", { id: "replay-result" });
  const selected = () => checks.filter((c) => c.checked).map((c) => Number(c.value));
  const reason = h("input", { name: "reason", id: "reason", size: 50, required: true,
    placeholder: "why (kept in the audit trail)" });
  const canary = h("input", { name: "canary", id: "canary", type: "number", min: 0, value: 5, size: 4 });
  const rate = h("input", { name: "rate", id: "rate", type: "number", min: 1, value: 20, size: 4 });

  async function dryRun() {
    const plan = await post("/ops/replays/dry-run", { failure_ids: selected() });
    result.replaceChildren(panel("", h("h2", {}, "Dry run"),
      h("p", { id: "dry-run-count" }, `${plan.count} message(s) would be replayed`),
      table([["Error code", (r) => r[0]], ["Count", (r) => String(r[1])]],
        Object.entries(plan.by_error_code), { id: "dry-run-breakdown" }),
      plan.refused.length ? h("p", {}, `${plan.refused.length} refused: `,
        plan.refused.map((r) => `#${r.failure_id} ${r.reason}`).join("; ")) : ""));
  }

  async function replay() {
    if (!reason.value.trim()) { reason.focus(); result.replaceChildren(panel("error", "Give a reason.")); return; }
    const done = await post("/ops/replays", { failure_ids: selected(), reason: reason.value,
      canary: Number(canary.value), rate: Number(rate.value) });
    result.replaceChildren(panel(done.stopped ? "error" : "ok", h("h2", {}, "Replay"),
      h("p", { id: "replay-count" }, `${done.replayed} message(s) replayed`),
      done.stopped ? h("p", {}, done.stopped) : "",
      done.refused.length ? h("p", {}, `${done.refused.length} refused`) : ""));
  }

  const guard = (fn) => async (e) => {
    e.preventDefault();
    if (!selected().length) { result.replaceChildren(panel("error", "Select at least one failure.")); return; }
    try { await fn(); } catch (err) { result.replaceChildren(panel("error", err.message)); }
  };

  return [h("h1", {}, "Parked failures"), form,
    h("p", { class: "muted" }, `${page.items.length} shown`, page.next_cursor ? " (more: narrow the search)" : ""),
    rows,
    h("div", { class: "row" },
      h("button", { class: "secondary", id: "dry-run", onclick: guard(dryRun) }, "Dry run"),
      h("label", {}, "Reason", reason), h("label", {}, "Canary", canary),
      h("label", {}, "Per second", rate),
      h("button", { class: "warning", id: "replay", onclick: guard(replay) }, "Replay selected")),
    result];
}
