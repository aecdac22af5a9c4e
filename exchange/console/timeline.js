// One case across agencies: its messages in order, causation links, deliveries and failures.
import { get } from "/console/api.js";
import { field, h, tag, when } from "/console/dom.js";

export async function timelineView(urn) {
  const form = h("form", { class: "filters", "aria-label": "Case" },
    field("PTIURN", { name: "urn", id: "case-urn", value: urn, required: true }),
    h("button", { type: "submit" }, "Show timeline"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/case/${encodeURIComponent(new FormData(form).get("urn").trim().toUpperCase())}`;
  });
  if (!urn) return [h("h1", {}, "Case timeline"), form];
  const t = await get(`/ops/cases/${encodeURIComponent(urn)}/timeline`);
  const byId = Object.fromEntries(t.messages.map((m) => [m.message_id, m]));
  const items = t.messages.map((m) => h("li", { class: m.failures.some((f) => f.status === "parked") ? "has-failure" : "",
    id: `m-${m.message_id}` },
    h("strong", {}, m.message_type), " ", tag(m.status), " ",
    h("span", { class: "muted" }, `${when(m.received_at)} · from ${m.source.agency}${m.source.org ? " " + m.source.org : ""}`),
    m.causation_id ? h("div", {}, "answers ", byId[m.causation_id]
      ? h("a", { href: `#m-${m.causation_id}` }, `${byId[m.causation_id].message_type} of ${when(byId[m.causation_id].received_at)}`)
      : `message ${m.causation_id} (not held)`) : "",
    h("div", {}, m.deliveries.map((d) => h("span", {}, `→ ${d.destination} `, tag(d.status), " "))),
    m.failures.map((f) => h("div", { class: "panel error" }, `${f.consumer}: ${f.error_code} – ${f.error_message} `, tag(f.status))),
    h("div", {}, h("a", { href: `#/message/${m.message_id}` }, "Inspect"))));
  return [h("h1", {}, `Case ${t.case_urn}`), form,
    h("p", {}, `${t.messages.length} message(s), ${t.open_failures} open failure(s), `,
      `${t.correlations.length} conversation(s)`),
    h("ol", { class: "timeline", id: "timeline" }, items)];
}
