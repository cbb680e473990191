/**
 * The Runs table: a virtualized grid over a RunsModel. Only the rows in view (and a few more) are
 * in the DOM, each at a fixed height, so 100,000 runs scroll like 100. Cells are set as text,
 * never markup. Keyboard: arrows, Page Up/Down, Home/End move a roving focus; Enter opens,
 * Space selects.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { IRunSummary } from './client';
import { CellRegistry, IColumn, shown } from './columns';
import { RunsModel } from './runsModel';

export const ROW_HEIGHT = 26;
const OVERSCAN = 6;

/** How wide a column starts (px); params, metrics and tags share one width. */
const WIDTHS: Record<string, number> = { status: 130, name: 170, experiment: 120, user: 90, started: 130, duration: 80 };

export interface ITableLabels {
  header(id: string): string;
  status(status: string): string;
  loading: string;
}

export class RunsTable extends Widget {
  constructor(
    readonly model: RunsModel,
    private readonly labels: ITableLabels,
    readonly cells: CellRegistry = new CellRegistry()
  ) {
    super();
    this.addClass('aml-RunsTable');
    this.node.setAttribute('role', 'grid');
    this.node.setAttribute('aria-multiselectable', 'true');
    this.node.tabIndex = -1;
    this._header.className = 'aml-RunsTable-header';
    this._header.setAttribute('role', 'row');
    this._header.setAttribute('aria-rowindex', '1');
    this._body.className = 'aml-RunsTable-body';
    this._spacer.className = 'aml-RunsTable-spacer';
    this._spacer.setAttribute('role', 'rowgroup');
    this._window.className = 'aml-RunsTable-window';
    this._spacer.appendChild(this._window);
    // One scroller: the header sticks to its top, so it scrolls sideways with the rows.
    this._body.append(this._header, this._spacer);
    this.node.append(this._body);
    this._body.addEventListener('scroll', () => this._schedule(), { passive: true });
    this._body.addEventListener('keydown', ev => this._onKey(ev));
    this._body.addEventListener('click', ev => this._onClick(ev));
    this._body.addEventListener('dblclick', ev => {
      const index = this._indexOf(ev.target);
      if (index >= 0) {
        this._activate(index);
      }
    });
    this._body.addEventListener('contextmenu', ev => {
      const index = this._indexOf(ev.target);
      if (index >= 0) {
        this._focusRow(index, false);
      }
    });
    this._header.addEventListener('click', ev => {
      const cell = (ev.target as HTMLElement).closest('[data-column]') as HTMLElement | null;
      if (cell) {
        this._sortRequested.emit(cell.dataset.column!);
      }
    });
    model.changed.connect(this._schedule, this);
    model.selectionChanged.connect(this._schedule, this);
  }

  /** A row was opened (Enter, double click): its run. */
  get opened(): ISignal<this, IRunSummary> {
    return this._opened;
  }

  /** A header was clicked: the column to sort by. */
  get sortRequested(): ISignal<this, string> {
    return this._sortRequested;
  }

  /** The run of the focused row (context menu and commands act on it). */
  get current(): IRunSummary | undefined {
    return this._active >= 0 ? this.model.at(this._active) : undefined;
  }

  get columns(): IColumn[] {
    return this._columns;
  }

  set columns(columns: IColumn[]) {
    this._columns = columns;
    this._columnsVersion++;
    this._renderHeader();
    this._slots.forEach(row => row.remove());
    this._slots = [];
    this._schedule();
  }

  /** Which column sorts and how, shown in the header (aria-sort). */
  setSort(column: string | null, descending: boolean): void {
    this._sort = column ? { column, descending } : null;
    this._renderHeader();
  }

  /** Paints the rows in view now (the scroll handler does it on the next frame). */
  paint(): void {
    this._frame = 0;
    const total = this.model.total;
    // Only what changed is written: any write to a style or an attribute costs a style pass over
    // the rows, and JupyterLab's style sheets make that pass dear.
    const size = `${total}:${this._width}`;
    if (size !== this._size) {
      this._size = size;
      this.node.setAttribute('aria-rowcount', String(total + 1));
      this._spacer.style.height = `${total * ROW_HEIGHT}px`;
      this._spacer.style.width = `${this._width}px`;
    }
    const top = Math.max(0, this._body.scrollTop - this._header.offsetHeight);
    const height = this._body.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total - 1, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    this._visible = [first, last];
    // A window of row elements in normal flow, moved as one block: scrolling changes the text in
    // the rows and one transform, never a row's own style (a style pass over a few hundred cells
    // under JupyterLab's style sheets costs more than a frame).
    const cols = shown(this._columns);
    const want = Math.max(0, last - first + 1);
    while (this._slots.length < want) {
      const row = this._makeRow(cols.length);
      this._slots.push(row);
      this._window.appendChild(row);
    }
    while (this._slots.length > want) {
      this._slots.pop()!.remove();
    }
    const shift = `translateY(${first * ROW_HEIGHT}px)`;
    if (this._window.style.transform !== shift) {
      this._window.style.transform = shift;
    }
    const now = Date.now();
    const focusWithin = this.node.contains(document.activeElement);
    this._slots.forEach((row, j) => this._fillRow(row, first + j, cols, now));
    const activeSlot = this._active - first;
    if ((this._wantFocus || focusWithin) && activeSlot >= 0 && activeSlot < this._slots.length) {
      if (document.activeElement !== this._slots[activeSlot]) {
        this._slots[activeSlot].focus({ preventScroll: true });
      }
    } else if (focusWithin && document.activeElement !== this._body) {
      this._body.focus({ preventScroll: true }); // the focused row scrolled away: the table keeps the focus
    }
    this._wantFocus = false;
  }

  /** The rows in view, first and last index. */
  get visibleRange(): [number, number] {
    return this._visible;
  }

  /** Gives the keyboard focus to the table (its focused row, else the first). */
  focusTable(): void {
    this._focusRow(Math.max(0, this._active), true);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
    Signal.disconnectReceiver(this);
    super.dispose();
  }

  protected onAfterAttach(): void {
    this._renderHeader();
    this.paint();
  }

  protected onResize(): void {
    this._schedule();
  }

  private _schedule(): void {
    if (!this._frame && this.isAttached) {
      this._frame = requestAnimationFrame(() => this.paint());
    }
  }

  private _template(cols: IColumn[]): string {
    return cols.map(c => `${WIDTHS[c.id] ?? 100}px`).join(' ');
  }

  private _renderHeader(): void {
    const cols = shown(this._columns);
    const template = this._template(cols);
    this._header.style.gridTemplateColumns = template;
    this._width = cols.reduce((sum, c) => sum + (WIDTHS[c.id] ?? 100), 0);
    this._body.style.setProperty('--aml-columns', template);
    this._header.replaceChildren();
    let left = 0;
    cols.forEach((col, i) => {
      const cell = document.createElement('div');
      cell.className = 'aml-RunsTable-cell aml-RunsTable-headerCell';
      cell.setAttribute('role', 'columnheader');
      cell.setAttribute('aria-colindex', String(i + 1));
      cell.dataset.column = col.id;
      cell.title = col.id;
      cell.textContent = this.labels.header(col.id);
      if (this._sort?.column === col.id) {
        cell.setAttribute('aria-sort', this._sort.descending ? 'descending' : 'ascending');
        cell.classList.add(this._sort.descending ? 'aml-mod-desc' : 'aml-mod-asc');
      } else {
        cell.setAttribute('aria-sort', 'none');
      }
      if (col.pinned) {
        cell.classList.add('aml-mod-pinned');
        cell.style.left = `${left}px`;
        left += WIDTHS[col.id] ?? 100;
      }
      this._header.appendChild(cell);
    });
  }

  private _makeRow(cells: number): HTMLElement {
    const row = document.createElement('div');
    row.className = 'aml-RunsTable-row';
    row.setAttribute('role', 'row');
    row.tabIndex = -1;
    for (let c = 0; c < cells; c++) {
      const cell = document.createElement('div');
      cell.className = 'aml-RunsTable-cell';
      cell.setAttribute('role', 'gridcell');
      row.appendChild(cell);
    }
    return row;
  }

  /** Writes a row's attribute only when its value changes (see `paint`). */
  private _set(node: HTMLElement, name: string, value: string | null): void {
    if (node.getAttribute(name) !== value) {
      if (value === null) {
        node.removeAttribute(name);
      } else {
        node.setAttribute(name, value);
      }
    }
  }

  private _fillRow(row: HTMLElement, index: number, cols: IColumn[], now: number): void {
    const run = this.model.at(index);
    const selected = run ? this.model.isSelected(run.id) : false;
    const key = run
      ? `${index}|${run.id}|${run.status}|${selected}|${index === this._active}|${this._columnsVersion}|` +
        `${run.end_time === null ? Math.floor(now / 1000) : ''}|${this.model.version}`
      : `${index}|loading|${index === this._active}|${this._columnsVersion}`;
    if (this._rowKeys.get(row) === key) {
      return; // nothing on this row changed since it was last filled
    }
    this._rowKeys.set(row, key);
    row.dataset.index = String(index);
    this._set(row, 'aria-rowindex', String(index + 2));
    this._set(row, 'tabindex', index === this._active ? '0' : '-1');
    this._set(row, 'class', `aml-RunsTable-row${index === this._active ? ' aml-mod-active' : ''}${
      run ? (selected ? ' aml-mod-selected' : '') : ' aml-mod-loading'}`);
    this._set(row, 'data-run-id', run ? run.id : null);
    this._set(row, 'data-status', run ? run.status : null);
    this._set(row, 'aria-selected', run ? String(selected) : null);
    let left = 0;
    cols.forEach((col, c) => {
      const cell = row.children[c] as HTMLElement;
      let text = '';
      if (!run) {
        text = c === 0 ? this.labels.loading : '';
      } else {
        text = col.id === 'status' ? this.labels.status(run.status) : this.cells.text(run, col.id, now);
      }
      if (cell.textContent !== text) {
        cell.textContent = text; // text, never markup: a run's name may hold anything
      }
      let cls = 'aml-RunsTable-cell';
      if (col.id === 'status' && run) {
        cls += ` aml-RunsTable-status aml-status-${run.status}`;
      }
      if (col.pinned) {
        cls += ' aml-mod-pinned';
        const at = `${left}px`;
        if (cell.style.left !== at) {
          cell.style.left = at;
        }
        left += WIDTHS[col.id] ?? 100;
      }
      this._set(cell, 'class', cls);
      if (col.id === 'name') {
        this._set(cell, 'title', run ? run.name : null);
      }
    });
  }

  private _indexOf(target: EventTarget | null): number {
    const row = (target as HTMLElement | null)?.closest?.('.aml-RunsTable-row') as HTMLElement | null;
    return row ? Number(row.dataset.index) : -1;
  }

  private _onClick(ev: MouseEvent): void {
    const index = this._indexOf(ev.target);
    if (index < 0) {
      return;
    }
    const run = this.model.at(index);
    if (run && (ev.ctrlKey || ev.metaKey || ev.shiftKey)) {
      this.model.select(run.id);
    }
    this._focusRow(index, true);
  }

  private _onKey(ev: KeyboardEvent): void {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || (ev.shiftKey && !(ev.key in { ArrowDown: 1, ArrowUp: 1 }))) {
      return; // Shift+Enter, Ctrl+C and the like are the commands' key bindings
    }
    const page = Math.max(1, Math.floor((this._body.clientHeight || ROW_HEIGHT * 10) / ROW_HEIGHT) - 1);
    const last = this.model.total - 1;
    const moves: Record<string, number> = {
      ArrowDown: this._active + 1,
      ArrowUp: this._active - 1,
      PageDown: this._active + page,
      PageUp: this._active - page,
      Home: 0,
      End: last
    };
    if (ev.key in moves) {
      ev.preventDefault();
      this._focusRow(Math.max(0, Math.min(last, moves[ev.key])), true);
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      this._activate(this._active);
    } else if (ev.key === ' ') {
      ev.preventDefault();
      const run = this.model.at(this._active);
      if (run) {
        this.model.select(run.id);
      }
    }
  }

  private _activate(index: number): void {
    const run = this.model.at(index);
    if (run) {
      this._opened.emit(run);
    }
  }

  private _focusRow(index: number, focus: boolean): void {
    if (index < 0 || index >= this.model.total) {
      return;
    }
    this._active = index;
    const head = this._header.offsetHeight;
    const top = index * ROW_HEIGHT;
    const view = this._body.clientHeight - head;
    if (top < this._body.scrollTop) {
      this._body.scrollTop = top;
    } else if (top + ROW_HEIGHT > this._body.scrollTop + view) {
      this._body.scrollTop = top + ROW_HEIGHT - view;
    }
    this._wantFocus = focus;
    this.paint();
  }

  private _header = document.createElement('div');
  private _body = document.createElement('div');
  private _spacer = document.createElement('div');
  private _window = document.createElement('div');
  private _slots: HTMLElement[] = [];
  private _columns: IColumn[] = [];
  private _sort: { column: string; descending: boolean } | null = null;
  private _active = -1;
  private _wantFocus = false;
  private _frame = 0;
  private _visible: [number, number] = [0, -1];
  private _width = 0;
  private _size = '';
  private _columnsVersion = 0;
  private _rowKeys = new WeakMap<HTMLElement, string>();
  private _opened = new Signal<this, IRunSummary>(this);
  private _sortRequested = new Signal<this, string>(this);
}
