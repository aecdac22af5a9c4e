// Message search and one message: raw, canonical, errors, deliveries, failures, audit, amend.
import { get, post } from "/console/api.js";
import { field, formValues, h, panel, table, tag, toast, when } from "/console/dom.js";

export async function messagesView(params) {
  const page = Object.keys(params).length ? await get("/ops/messages", params) : { items: [] };
  const form = h("form", { class: "filters", "aria-label": "Search messages" },
    field("PTIURN", { name: "case_urn", value: params.case_urn || "" }),
    field("ASN", { name: "asn", value: params.asn || "" }),
    field("Agency", { name: "agency", value: params.agency || "" }),
    field("Type", { name: "message_type", value: params.message_type || "" }),
    field("Status", { name: "status", value: params.status || "" }),
    field("Error code", { name: "error_code", value: params.error_code || "" }),
    field("From", { name: "since", type: "datetime-local" }),
    h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (v.since) v.since = new Date(v.since).toISOString();
    location.hash = "#/messages?" + new URLSearchParams(v);
  });
  return [h("h1", {}, "Messages"), form, table([
    ["Received", (m) => when(m.received_at)],
    ["Case", (m) => h("a", { href: `#/case/${encodeURIComponent(m.case_urn || "")}` }, m.case_urn || "–")],
    ["Type", (m) => m.message_type || "–"],
    ["From", (m) => `${m.source.agency}${m.source.org ? " " + m.source.org : ""}`],
    ["Status", (m) => tag(m.status)],
    ["Errors", (m) => m.error_codes.join(", ")],
    ["", (m) => h("a", { href: `#/message/${m.message_id}` }, "Inspect")],
  ], page.items, { id: "messages" })];
}

function pre(value) { return h("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2)); }

export async function messageView(id) {
  const m = await get(`/ops/messages/${id}`);
  const parked = m.failures.filter((f) => f.status === "parked");
  return [
    h("h1", {}, `${m.message_type || "Rejected document"} `, tag(m.status)),
    h("p", {}, `Message ${m.message_id} · case `,
      h("a", { href: `#/case/${encodeURIComponent(m.case_urn || "")}` }, m.case_urn || "–"),
      ` · from ${m.source.agency} (${m.source.system}) · received ${when(m.received_at)}`,
      ` · replayed ${m.replay_count} time(s)`),
    m.errors.length ? [h("h2", {}, "Errors and warnings"), table([
      ["Code", (e) => e.code], ["Where", (e) => e.location || ""], ["What", (e) => e.message],
      ["Severity", (e) => e.severity || "error"]], m.errors, { id: "errors" })] : "",
    h("h2", {}, "Deliveries"),
    table([["Destination", (d) => `${d.destination} ${d.destination_org || ""}`],
      ["Format", (d) => d.format], ["Status", (d) => tag(d.status)],
      ["Made", (d) => when(d.created_at)], ["Acknowledged", (d) => when(d.acknowledged_at)],
      ["", (d) => d.status === "acknowledged" ? "" : h("button", { class: "secondary",
        onclick: () => redeliver(m.message_id, d.destination) }, "Deliver again")]],
    m.deliveries, { id: "deliveries" }),
    h("h2", {}, "Failures"),
    table([["Consumer", (f) => f.consumer], ["Code", (f) => f.error_code],
      ["Cause", (f) => f.error_message], ["Status", (f) => tag(f.status)],
      ["Parked", (f) => when(f.created_at)]], m.failures, { id: "message-failures" }),
    parked.length && m.canonical ? amendForm(parked[0], m.canonical) : "",
    h("h2", {}, "Audit trail"),
    table([["When", (e) => when(e.at)], ["Event", (e) => e.event], ["By", (e) => e.actor],
      ["Detail", (e) => JSON.stringify(e.detail)]], m.events, { id: "events" }),
    h("h2", {}, "Canonical form"), pre(m.canonical),
    h("h2", {}, `Raw document (${m.content_type})`), pre(m.raw.text),
  ];
}

async function redeliver(messageId, destination) {
  const reason = prompt(`Why deliver again to ${destination}?`);
  if (!reason) return;
  try {
    await post("/ops/deliveries/replay", { message_id: messageId, destination, reason });
    toast(`made available again to ${destination}`);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } catch (err) { toast(err.message); }
}

function amendForm(failure, canonical) {
  const out = h("div", { id: "amend-result" });
  const form = h("form", { class: "filters", id: "amend", "aria-label": "Amend and replay" },
    field("Field (JSON pointer)", { name: "pointer", id: "amend-pointer", size: 40,
      placeholder: "/payload/case/court_ou", required: true }),
    field("New value (JSON or text)", { name: "value", id: "amend-value", size: 30, required: true }),
    field("Reason", { name: "reason", id: "amend-reason", size: 40 }),
    h("button", { type: "button", class: "secondary", id: "amend-preview", onclick: () => act(false) }, "Preview"),
    h("button", { type: "button", class: "warning", id: "amend-replay", onclick: () => act(true) },
      "Amend and replay"));
  function value(text) { try { return JSON.parse(text); } catch { return text; } }
  async function act(apply) {
    const v = formValues(form);
    const changes = [{ pointer: v.pointer, value: value(v.value || "") }];
    try {
      if (!apply) {
        const p = await post(`/ops/failures/${failure.id}/amend/preview`, { changes });
        out.replaceChildren(panel(p.valid ? "ok" : "error", h("h2", {}, p.valid ? "Valid" : "Still invalid"),
          table([["Field", (d) => d.pointer], ["Was", (d) => JSON.stringify(d.old)],
            ["Becomes", (d) => JSON.stringify(d.new)]], p.diff, { id: "amend-diff" }),
          p.issues.map((i) => h("p", {}, `${i.severity}: ${i.code} ${i.location} – ${i.message}`))));
      } else {
        const done = await post(`/ops/failures/${failure.id}/amend`, { changes, reason: v.reason || "" });
        out.replaceChildren(panel("ok", h("p", { id: "amend-done" },
          `Amended ${done.diff.length} field(s) and replayed.`)));
      }
    } catch (err) {
      const issues = (err.body && err.body.errors) || [];
      out.replaceChildren(panel("error", h("p", {}, err.message),
        issues.map((i) => h("p", {}, `${i.code} ${i.location || ""} – ${i.message}`))));
    }
  }
  return [h("h2", {}, "Amend and replay"),
    h("p", { class: "muted" }, `Failure #${failure.id}: ${failure.error_code}. Fields are JSON pointers into the canonical form below.`),
    form, out];
}
