// Shared figures: volumes and file quality, deliveries, charging timeliness, charge to bundle.
import { call, get } from "/console/api.js";
import { bars } from "/console/charts.js";
import { field, formValues, h, table } from "/console/dom.js";

const TITLES = {
  volumes: "Volumes and file quality by sender",
  deliveries: "Deliveries by receiver",
  charging: "Charging timeliness (request to decision, hours)",
  charge_to_bundle: "Charge to first court bundle (days)",
};

async function download(name, params) {
  const answer = await call("GET", `/ops/figures/${name}.csv`, { params, raw: true });
  const url = URL.createObjectURL(await answer.blob());
  const a = h("a", { href: url, download: `${name}.csv` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function chart(name, rows) {
  if (!rows.length) return "";
  if (name === "volumes") return bars(TITLES[name], rows.map((r) => ({ label: `${r.agency} ${r.org}`,
    values: [r.messages, r.rejected] })), [{ name: "messages", colour: "#1d70b8" }, { name: "rejected", colour: "#d4351c" }]);
  if (name === "charging") return bars(TITLES[name], rows.map((r) => ({ label: `force ${r.force} / ${r.cps_unit}`,
    values: [r.median_hours, r.p90_hours] })), [{ name: "median", colour: "#1d70b8" }, { name: "p90", colour: "#f47738" }]);
  if (name === "charge_to_bundle") return bars(TITLES[name], rows.map((r) => ({ label: r.court,
    values: [r.median_days] })), [{ name: "median", colour: "#00703c" }]);
  return bars(TITLES[name], rows.map((r) => ({ label: `${r.destination} ${r.org}`,
    values: [r.deliveries, r.acknowledged] })), [{ name: "made", colour: "#1d70b8" }, { name: "acknowledged", colour: "#00703c" }]);
}

export async function figuresView(params) {
  const f = await get("/ops/figures", params);
  const form = h("form", { class: "filters", "aria-label": "Period" },
    field("From", { name: "since", type: "date", value: (params.since || f.since).slice(0, 10) }),
    field("To", { name: "until", type: "date", value: (params.until || f.until).slice(0, 10) }),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(form);
    for (const k of ["since", "until"]) if (v[k]) v[k] = new Date(v[k]).toISOString();
    location.hash = "#/figures?" + new URLSearchParams(v);
  });
  const sections = Object.keys(TITLES).map((name) => {
    const rows = f[name];
    const columns = rows.length ? Object.keys(rows[0]).map((k) => [k, (r) => Array.isArray(r[k])
      ? r[k].map((i) => `${i.code} (${i.count})`).join(", ") : String(r[k] ?? "–")]) : [];
    return h("section", { id: `fig-${name}` }, h("h2", {}, TITLES[name]), chart(name, rows),
      rows.length ? table(columns, rows) : h("p", { class: "muted" }, "Nothing in this period."),
      h("button", { class: "secondary", id: `csv-${name}`, onclick: () => download(name, params) }, "Download CSV"));
  });
  return [h("h1", {}, "Shared figures"), h("p", { class: "muted" },
    "One set of numbers for police, CPS and courts. Times run from the request to the decision as each agency stamped them."),
    form, ...sections];
}
