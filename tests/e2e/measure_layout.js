// The layout checks of tests/e2e/test_layout.py, run in the page: one line per problem found.
// (Its own file so it reads as JavaScript; the Python test passes it to page.evaluate.)
() => {
  const problems = [];
  const name = (el) => {
    const cls = typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "";
    const label = el.getAttribute("aria-label") || el.getAttribute("data-label") || "";
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `<${el.tagName.toLowerCase()}${cls}${label ? ` "${label}"` : ""}> "${text}"`;
  };
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === "none" || s.visibility === "hidden" || s.opacity === "0") return false;
      // Toasts and dialogs float over the page; sticky bars cover what scrolls under them.
      if (s.position === "fixed" || s.position === "sticky") return false;
    }
    return el.getClientRects().length > 0;
  };
  const intentional = (el) => el.closest(".visually-hidden, svg, select, option, script, style, [data-layout-ignore]");
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    problems.push(`the page scrolls sideways: ${root.scrollWidth}px wide in a ${root.clientWidth}px window`);
  }
  // A box that scrolls or clips its content sideways hides part of it.
  for (const el of document.body.querySelectorAll("*")) {
    if (intentional(el) || !shown(el)) continue;
    const s = getComputedStyle(el);
    if (s.overflowX === "visible" || el.clientWidth < 2) continue;
    if (s.textOverflow === "ellipsis") continue;  // cut on purpose, with the full text in a title
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} hides ${el.scrollWidth - el.clientWidth}px of its content sideways`);
    }
  }
  // Text boxes: each line of each text node, as drawn.
  // A popup (the timezone list) floats over the page on purpose: its text is compared with
  // text in the same layer only.
  const layer = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.position === "absolute" && s.zIndex !== "auto") return e;
    }
    return null;
  };
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || intentional(el) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width >= 1 && r.height >= 1) boxes.push({ r, el, layer: layer(el), text: node.textContent.trim().slice(0, 30) });
    }
  }
  for (const { r, el, text } of boxes) {
    if (r.right > root.clientWidth + 1 || r.left < -1) {
      problems.push(`"${text}" in ${name(el)} runs off the screen (${Math.round(r.left)}-${Math.round(r.right)}px)`);
    }
    // Text must stay inside the nearest ancestor that clips.
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      if (s.textOverflow === "ellipsis" || getComputedStyle(el).textOverflow === "ellipsis") break;
      const box = a.getBoundingClientRect();
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        problems.push(`"${text}" in ${name(el)} is cut off by ${name(a)}`);
      }
      break;
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (boxes[i].layer !== boxes[j].layer) continue;
      const a = boxes[i].r, b = boxes[j].r;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 2 && h > 2) {
        problems.push(`"${boxes[i].text}" and "${boxes[j].text}" overlap (${Math.round(w)}x${Math.round(h)}px)`);
      }
    }
  }
  return [...new Set(problems)];
}
