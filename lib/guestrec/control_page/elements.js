// Small builders for the page's elements, shared by the cards and the lists.

export function make(doc, tag, className, text) {
  const el = doc.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

export function button(doc, className, text) {
  const el = make(doc, "button", className, text);
  el.type = "button";
  return el;
}
