/** Small DOM makers the views share; every one sets text, never markup. */

export function para(text: string, cls = ''): HTMLElement {
  const p = document.createElement('p');
  p.className = cls;
  p.textContent = text;
  return p;
}

export function heading(text: string): HTMLElement {
  const h = document.createElement('h3');
  h.textContent = text;
  return h;
}

/** A two-column table of names and values. */
export function keyValueTable(rows: [string, string][]): HTMLElement {
  const table = document.createElement('table');
  table.className = 'aml-KeyValue';
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = k;
    tr.appendChild(th);
    tr.insertCell().textContent = v;
  }
  return table;
}
