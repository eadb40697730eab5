import Foundation

/// The dashboard's one page: HTML, CSS and script in one document (no external assets), rendered with the
/// node's current state so that it lists the peers before any script runs; the script then redraws it from
/// each `/events` state and keeps per-peer rate histories for the charts.
enum DashboardPage {
    static func render(_ state: DashboardState?) -> String {
        guard let state else {
            return head("erlang-node (starting)") + "<body><header><h1>node starting…</h1></header>"
                + "<script>setTimeout(() => location.reload(), 1000)</script></body></html>\n"
        }
        var html = head("\(state.node) — erlang-node")
        html += "<body>\n<header><h1 id=\"node\">\(escape(state.node))</h1><div id=\"badges\">"
        html += badge("creation \(state.creation)") + badge(state.hidden ? "hidden node" : "visible node")
        html += badge("\(state.peers.count) connected", id: "peer-count")
        html += badge("\(state.totalProcesses) processes", id: "process-count")
        html += "<span id=\"live\" class=\"badge off\">connecting…</span></div></header>\n<main>\n"
        html += card("Cluster", "graph-card", "<svg id=\"graph\" viewBox=\"0 0 640 380\" role=\"img\" aria-label=\"node graph\"></svg>"
            + "<div class=\"legend\"><span class=\"k vis\"></span>visible <span class=\"k hid\"></span>hidden"
            + " <span class=\"k gone\"></span>known, not connected</div>")
        html += card("Connections", "peers-card", peersTable(state))
        html += card("Events", "events-card", eventsList(state))
        html += card("Registered names", "names-card", namesTable(state))
        html += card("Processes", "processes-card", processesTable(state))
        html += "</main>\n<script type=\"application/json\" id=\"initial\">\(state.json())</script>\n"
        html += "<script>\n\(script)\n</script>\n</body></html>\n"
        return html
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    private static func head(_ title: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(escape(title))</title>"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>\(style)</style></head>\n"
    }

    private static func badge(_ text: String, id: String? = nil) -> String {
        "<span class=\"badge\"\(id.map { " id=\"\($0)\"" } ?? "")>\(escape(text))</span>"
    }

    private static func card(_ title: String, _ id: String, _ body: String) -> String {
        "<section class=\"card\" id=\"\(id)\"><h2>\(title)</h2>\(body)</section>\n"
    }

    private static func peersTable(_ state: DashboardState) -> String {
        var html = "<table id=\"peers\"><thead><tr><th>node</th><th>kind</th><th>up for</th><th class=\"n\">msg/s in</th>"
            + "<th class=\"n\">msg/s out</th><th class=\"n\">B/s in</th><th class=\"n\">B/s out</th><th>msg/s, 60 s (<span class=\"in\">in</span>/<span class=\"out\">out</span>)</th></tr></thead><tbody>"
        for peer in state.peers {
            let up = peer.since.map { duration(state.time - $0) } ?? "–"
            html += "<tr data-peer=\"\(escape(peer.name))\"><td class=\"name\">\(escape(peer.name))</td>"
                + "<td>\(peer.hidden ? "hidden" : "visible")</td><td>\(up)</td>"
                + "<td class=\"n\">–</td><td class=\"n\">–</td><td class=\"n\">–</td><td class=\"n\">–</td><td><canvas class=\"spark\" width=\"120\" height=\"30\"></canvas></td></tr>"
        }
        if state.peers.isEmpty { html += "<tr class=\"empty\"><td colspan=\"8\">no connected peers</td></tr>" }
        html += "</tbody></table>"
        if !state.disconnected.isEmpty {
            html += "<p class=\"known\">known, not connected: "
                + state.disconnected.map { "<span data-known=\"\(escape($0))\">\(escape($0))</span>" }.joined(separator: ", ") + "</p>"
        }
        return html
    }

    private static func eventsList(_ state: DashboardState) -> String {
        var html = "<ul id=\"events\">"
        for event in state.events.reversed() {
            html += "<li class=\"\(event.kind)\"><time>\(clock(event.time))</time> <b>\(event.kind)</b> \(escape(event.peer))"
                + (event.hidden ? " <i>hidden</i>" : "") + "</li>"
        }
        if state.events.isEmpty { html += "<li class=\"empty\">none yet</li>" }
        return html + "</ul>"
    }

    private static func namesTable(_ state: DashboardState) -> String {
        var html = "<table id=\"names\"><tbody>"
        for name in state.names { html += "<tr><td class=\"name\">\(escape(name.name))</td><td class=\"pid\">\(escape(name.pid))</td></tr>" }
        return html + "</tbody></table>"
    }

    private static func processesTable(_ state: DashboardState) -> String {
        var html = "<table id=\"processes\"><thead><tr><th>pid</th><th>name</th><th>state</th><th class=\"n\">mailbox</th>"
            + "<th>links</th><th>monitors</th></tr></thead><tbody>"
        for p in state.processes {
            let monitors = (p.monitoring.map { "→ " + $0 } + p.monitoredBy.map { "← " + $0 }).joined(separator: " ")
            html += "<tr><td class=\"pid\">\(escape(p.pid))</td><td class=\"name\">\(escape(p.name ?? ""))</td>"
                + "<td><span class=\"st \(p.state)\">\(p.state)</span>\(p.trapExit ? " <i>traps exits</i>" : "")</td>"
                + "<td class=\"n\">\(p.mailbox)</td><td class=\"pid\">\(escape(p.links.joined(separator: " ")))</td>"
                + "<td class=\"pid\">\(escape(monitors))</td></tr>"
        }
        return html + "</tbody></table>"
    }

    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }

    private static func clock(_ time: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: time)) + " UTC"
    }

    static let style = """
        :root { --bg:#f4f6f9; --card:#fff; --ink:#1d2330; --dim:#6b7385; --line:#dde2ea; --vis:#2563eb; --hid:#9333ea; --gone:#a3aab8;
          --in:#0891b2; --out:#ea580c; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; background:var(--bg); color:var(--ink); }
        header { display:flex; align-items:center; gap:16px; flex-wrap:wrap; padding:14px 20px; background:#1d2330; color:#fff; }
        h1 { margin:0; font-size:20px; font-weight:600; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
        h2 { margin:0 0 8px; font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); }
        .badge { display:inline-block; margin-right:6px; padding:2px 9px; border-radius:10px; background:#39415a; font-size:12px; }
        #live.on { background:#15803d; } #live.off { background:#b45309; }
        main { display:grid; grid-template-columns: minmax(380px, 1fr) minmax(380px, 1.2fr); gap:14px; padding:14px 20px; }
        .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; overflow:auto; }
        #processes-card { grid-column: 1 / -1; max-height: 520px; }
        #events-card, #names-card { max-height: 300px; }
        table { border-collapse:collapse; width:100%; }
        th { white-space:nowrap; text-align:left; font-weight:600; color:var(--dim); font-size:12px; border-bottom:1px solid var(--line); padding:4px 6px; }
        td { border-bottom:1px solid #eef1f5; padding:4px 6px; vertical-align:middle; }
        .n { text-align:right; font-variant-numeric: tabular-nums; }
        .name, .pid { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:12.5px; }
        .pid { color:#374151; word-break: break-all; }
        tr.empty td, li.empty { color:var(--dim); font-style:italic; }
        .known { color:var(--dim); margin:8px 0 0; }
        .known span { font-family: ui-monospace, monospace; }
        ul#events { list-style:none; margin:0; padding:0; }
        #events li { padding:3px 0; border-bottom:1px solid #eef1f5; font-family: ui-monospace, monospace; font-size:12.5px; }
        #events time { color:var(--dim); }
        #events li.nodeup b { color:#15803d; } #events li.nodedown b { color:#b91c1c; }
        .st { display:inline-block; min-width:78px; text-align:center; padding:1px 6px; border-radius:9px; font-size:12px; }
        .st.running { background:#dcfce7; color:#166534; } .st.waiting { background:#e0e7ff; color:#3730a3; }
        .st.hibernating { background:#f3f4f6; color:#4b5563; } .st.exiting { background:#fee2e2; color:#991b1b; }
        .legend { color:var(--dim); font-size:12px; }
        .legend .k { display:inline-block; width:18px; height:0; border-top:3px solid; margin:0 4px 3px 10px; }
        .k.vis { border-color:var(--vis); } .k.hid { border-color:var(--hid); border-top-style:dashed; } .k.gone { border-color:var(--gone); border-top-style:dotted; }
        #graph { width:100%; height:auto; max-height:400px; }
        #graph text { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; fill: var(--ink); }
        canvas.spark { display:block; }
        th span.in { color:var(--in); } th span.out { color:var(--out); }
        @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
        """

    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"})[c]);
        const history = new Map(); // peer -> [{t, mi, mo, bi, bo}]
        const KEEP = 61;
        let last = null;

        function rates(peer) {
          const h = history.get(peer) || [];
          if (h.length < 2) return null;
          const a = h[h.length - 2], b = h[h.length - 1], dt = Math.max(b.t - a.t, 0.001);
          return { mi: (b.mi - a.mi) / dt, mo: (b.mo - a.mo) / dt, bi: (b.bi - a.bi) / dt, bo: (b.bo - a.bo) / dt };
        }
        function series(peer, key) {
          const h = history.get(peer) || [], out = [];
          for (let i = 1; i < h.length; i++) out.push(Math.max(0, (h[i][key] - h[i - 1][key]) / Math.max(h[i].t - h[i - 1].t, 0.001)));
          return out;
        }
        function num(x) {
          if (x === null || x === undefined) return "–";
          if (x >= 1e6) return (x / 1e6).toFixed(1) + "M";
          if (x >= 1e4) return (x / 1e3).toFixed(1) + "k";
          return x >= 10 ? Math.round(x).toString() : x.toFixed(1);
        }
        function since(s) {
          s = Math.max(0, Math.floor(s));
          if (s < 60) return s + " s";
          if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
          return Math.floor(s / 3600) + " h " + Math.floor(s % 3600 / 60) + " min";
        }
        function clock(t) { return new Date(t * 1000).toISOString().substr(11, 8) + " UTC"; }

        function record(state) {
          const live = new Set(state.peers.map((p) => p.name));
          for (const name of history.keys()) if (!live.has(name)) history.delete(name);
          for (const p of state.peers) {
            const h = history.get(p.name) || [];
            h.push({ t: state.time, mi: p.messagesIn, mo: p.messagesOut, bi: p.bytesIn, bo: p.bytesOut });
            while (h.length > KEEP) h.shift();
            history.set(p.name, h);
          }
        }

        function spark(canvas, peer) {
          const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
          ctx.clearRect(0, 0, w, h);
          ctx.fillStyle = "#f8fafc"; ctx.fillRect(0, 0, w, h);
          const ins = series(peer, "mi"), outs = series(peer, "mo");
          const max = Math.max(1, ...ins, ...outs);
          const line = (data, color) => {
            if (data.length === 0) return;
            ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
            data.forEach((v, i) => {
              const x = 2 + i * ((w - 4) / (KEEP - 2)), y = h - 2 - (v / max) * (h - 5);
              i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y);
            });
            ctx.stroke();
          };
          line(ins, "#0891b2"); line(outs, "#ea580c");
          ctx.fillStyle = "#6b7385"; ctx.font = "9px sans-serif"; ctx.textAlign = "right"; ctx.fillText(num(max), w - 2, 9);
        }

        function drawGraph(state) {
          const svg = $("graph"), W = 640, H = 380, cx = W / 2, cy = H / 2;
          const peers = state.peers, gone = state.disconnected;
          let out = "";
          const place = (list, r, offset) => list.map((name, i) => {
            const a = offset + (2 * Math.PI * i) / Math.max(list.length, 1) - Math.PI / 2;
            return { name, x: cx + r * 1.55 * Math.cos(a), y: cy + r * 0.9 * Math.sin(a) };
          });
          const inner = place(peers.map((p) => p.name), 115, 0);
          const outer = place(gone, 165, Math.PI / Math.max(gone.length, 1));
          peers.forEach((p, i) => {
            const r = rates(p.name), flow = r ? r.mi + r.mo : 0, width = 1.5 + Math.min(6, Math.log10(1 + flow) * 2);
            out += `<line x1="${cx}" y1="${cy}" x2="${inner[i].x}" y2="${inner[i].y}" stroke="${p.hidden ? "#9333ea" : "#2563eb"}"` +
              ` stroke-width="${width.toFixed(1)}" ${p.hidden ? 'stroke-dasharray="6 4"' : ""}/>`;
            if (r) {
              const mx = (cx + inner[i].x) / 2, my = (cy + inner[i].y) / 2;
              out += `<text x="${mx}" y="${my - 4}" text-anchor="middle" style="fill:#6b7385;font-size:10px">${num(r.mi + r.mo)} msg/s</text>`;
            }
          });
          outer.forEach((n) => {
            out += `<line x1="${cx}" y1="${cy}" x2="${n.x}" y2="${n.y}" stroke="#d1d5db" stroke-dasharray="2 4"/>`;
          });
          const label = (n, y) => `<text x="${n.x}" y="${y}" text-anchor="middle">${esc(n.name)}</text>`;
          inner.forEach((n, i) => {
            out += `<g class="peer" data-peer="${esc(n.name)}"><circle cx="${n.x}" cy="${n.y}" r="13" fill="${peers[i].hidden ? "#f3e8ff" : "#dbeafe"}"` +
              ` stroke="${peers[i].hidden ? "#9333ea" : "#2563eb"}" stroke-width="2"/>${label(n, n.y + 28)}</g>`;
          });
          outer.forEach((n) => {
            out += `<g class="gone" data-known="${esc(n.name)}"><circle cx="${n.x}" cy="${n.y}" r="10" fill="#f3f4f6" stroke="#a3aab8"` +
              ` stroke-dasharray="3 2"/><text x="${n.x}" y="${n.y + 24}" text-anchor="middle" style="fill:#8a91a0">${esc(n.name)}</text></g>`;
          });
          out += `<g class="self"><circle cx="${cx}" cy="${cy}" r="20" fill="#1d2330"/>` +
            `<text x="${cx}" y="${cy + 38}" text-anchor="middle" style="font-weight:700">${esc(state.node)}</text></g>`;
          if (peers.length === 0) out += `<text x="${cx}" y="22" text-anchor="middle" style="fill:#8a91a0">no connected peers</text>`;
          svg.innerHTML = out;
        }

        function drawPeers(state) {
          const body = $("peers").tBodies[0];
          if (state.peers.length === 0) {
            body.innerHTML = '<tr class="empty"><td colspan="8">no connected peers</td></tr>';
          } else {
            body.innerHTML = state.peers.map((p) => {
              const r = rates(p.name) || {};
              return `<tr data-peer="${esc(p.name)}"><td class="name">${esc(p.name)}</td><td>${p.hidden ? "hidden" : "visible"}</td>` +
                `<td>${p.since ? since(state.time - p.since) : "–"}</td><td class="n">${num(r.mi)}</td><td class="n">${num(r.mo)}</td>` +
                `<td class="n">${num(r.bi)}</td><td class="n">${num(r.bo)}</td><td><canvas class="spark" width="120" height="30"></canvas></td></tr>`;
            }).join("");
            body.querySelectorAll("tr[data-peer]").forEach((tr) => spark(tr.querySelector("canvas"), tr.dataset.peer));
          }
          const card = $("peers-card");
          let known = card.querySelector("p.known");
          if (state.disconnected.length === 0) { if (known) known.remove(); return; }
          if (!known) { known = document.createElement("p"); known.className = "known"; card.appendChild(known); }
          known.innerHTML = "known, not connected: " + state.disconnected.map((n) => `<span data-known="${esc(n)}">${esc(n)}</span>`).join(", ");
        }

        function drawRest(state) {
          $("peer-count").textContent = state.peers.length + " connected";
          $("process-count").textContent = state.totalProcesses + " processes";
          $("events").innerHTML = state.events.length === 0 ? '<li class="empty">none yet</li>' :
            state.events.slice().reverse().map((e) => `<li class="${e.kind}"><time>${clock(e.time)}</time> <b>${e.kind}</b> ${esc(e.peer)}` +
              (e.hidden ? " <i>hidden</i>" : "") + "</li>").join("");
          $("names").tBodies[0].innerHTML = state.names.map((n) => `<tr><td class="name">${esc(n.name)}</td><td class="pid">${esc(n.pid)}</td></tr>`).join("");
          $("processes").tBodies[0].innerHTML = state.processes.map((p) => {
            const monitors = p.monitoring.map((m) => "→ " + m).concat(p.monitoredBy.map((m) => "← " + m)).join(" ");
            return `<tr><td class="pid">${esc(p.pid)}</td><td class="name">${esc(p.name || "")}</td>` +
              `<td><span class="st ${esc(p.state)}">${esc(p.state)}</span>${p.trapExit ? " <i>traps exits</i>" : ""}</td>` +
              `<td class="n">${p.mailbox}</td><td class="pid">${esc(p.links.join(" "))}</td><td class="pid">${esc(monitors)}</td></tr>`;
          }).join("");
        }

        function show(state) {
          last = state;
          record(state);
          drawGraph(state); drawPeers(state); drawRest(state);
          document.body.dataset.updated = String(state.time);
        }

        show(JSON.parse($("initial").textContent));
        const source = new EventSource("/events");
        source.addEventListener("state", (e) => { $("live").className = "badge on"; $("live").textContent = "live"; show(JSON.parse(e.data)); });
        source.onerror = () => { $("live").className = "badge off"; $("live").textContent = "reconnecting…"; };
        """#
}
