/**
 * "Submit as aml run": a dialog over a notebook's parameters cell (or a script's argparse
 * options), read through the server, each parameter with its default to edit, a target and an
 * experiment. Values are sent as typed: numbers, booleans and JSON literals as such, the rest as text.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { AmlClient, IExperiment, IJobParameters, ITarget } from './client';
import { IParameter, lastExperiment, parseValue, problemWith, splitArgs } from './submitValues';

export interface ISubmitValue {
  path: string;
  params: Record<string, unknown>;
  args: string[];
  target: string;
  experiment: string;
}

function shown(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const CHECKBOX_KINDS = new Set(['flag', 'flag_off', 'bool']);

class SubmitForm extends Widget {
  constructor(
    private readonly info: IJobParameters,
    targets: ITarget[],
    experiment: string,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('aml-SubmitForm');
    const note = document.createElement('p');
    note.className = 'aml-SubmitForm-note';
    if (info.kind === 'notebook' && !info.has_parameters_cell) {
      note.textContent = trans.__(
        'This notebook has no cell tagged "parameters": it runs as it is. Tag a cell "parameters" to edit values here.'
      );
    } else if (!info.readable) {
      note.textContent = trans.__(
        "This script's options cannot all be read without running it: give them below as you would on a command line."
      );
    } else if (!info.parameters.length) {
      note.textContent = trans.__('No parameters found.');
    }
    this.node.appendChild(note);
    for (const p of info.parameters.filter(p => p.kind !== 'other' || info.kind === 'notebook')) {
      this.node.appendChild(this._field(p));
    }
    if (info.kind === 'script' && (!info.readable || info.parameters.some(p => p.kind === 'other'))) {
      const label = document.createElement('label');
      label.className = 'aml-SubmitForm-field';
      this._args.className = 'jp-mod-styled';
      this._args.name = 'args';
      this._args.placeholder = '--epochs 3 data.csv';
      label.append(document.createTextNode(trans.__('Arguments')), this._args);
      this.node.appendChild(label);
    }
    const tLabel = document.createElement('label');
    tLabel.className = 'aml-SubmitForm-field';
    tLabel.append(document.createTextNode(trans.__('Target')), this._target);
    this._target.className = 'jp-mod-styled';
    for (const target of targets.length ? targets : [{ name: 'local', type: 'local' }]) {
      this._target.appendChild(new Option(`${target.name} (${target.type})`, target.name));
    }
    if (targets.some(target => target.name === 'local')) {
      this._target.value = 'local'; // the default of every other way in (aml submit, the API)
    }
    const eLabel = document.createElement('label');
    eLabel.className = 'aml-SubmitForm-field';
    this._experiment.className = 'jp-mod-styled';
    this._experiment.value = experiment;
    this._experiment.name = 'experiment';
    eLabel.append(document.createTextNode(trans.__('Experiment')), this._experiment);
    this.node.append(tLabel, eLabel);
  }

  /** What is wrong with the values typed so far, named; '' when all will do. */
  problem(): string {
    for (const p of this.info.parameters) {
      const input = this._inputs.get(p.name);
      const why = input && input.type !== 'checkbox' && input.tagName !== 'SELECT' ? problemWith(p, input.value) : '';
      if (why) {
        return this.trans.__('%1 takes %2', p.name, why === 'required' ? this.trans.__('a value (required)') : why);
      }
    }
    return '';
  }

  getValue(): ISubmitValue {
    const params: Record<string, unknown> = {};
    for (const p of this.info.parameters) {
      const input = this._inputs.get(p.name);
      if (!input) {
        continue;
      }
      if (input.type === 'checkbox') {
        const on = (input as HTMLInputElement).checked;
        if (on !== Boolean(p.default)) {
          params[p.name] = on;
        }
      } else if (input.tagName === 'SELECT') {
        const picked = p.choices[Number(input.value)];
        if (shown(picked) !== shown(p.default)) {
          params[p.name] = picked;
        }
      } else if (input.value !== shown(p.default) || p.required) {
        if (input.value.trim() !== '' || p.required) {
          params[p.name] = parseValue(input.value, p.default);
        }
      }
    }
    return {
      path: this.info.path,
      params,
      args: splitArgs(this._args.value),
      target: this._target.value,
      experiment: this._experiment.value.trim() || 'default'
    };
  }

  protected onAfterAttach(): void {
    this._check();
  }

  // One field a parameter, by its kind: a flag is a checkbox, choices a menu, numbers checked as typed.
  private _field(p: IParameter): HTMLElement {
    const label = document.createElement('label');
    label.className = 'aml-SubmitForm-field';
    const name = document.createElement('span');
    name.textContent = p.name + (p.required ? ' *' : '');
    if (p.help) {
      label.title = p.help;
    }
    let input: HTMLInputElement | HTMLSelectElement;
    if (CHECKBOX_KINDS.has(p.kind)) {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = Boolean(p.default);
      input = box;
    } else if (p.kind === 'choice') {
      const menu = document.createElement('select');
      menu.className = 'jp-mod-styled';
      p.choices.forEach((c, i) => menu.appendChild(new Option(shown(c), String(i))));
      menu.value = String(Math.max(0, p.choices.findIndex(c => shown(c) === shown(p.default))));
      input = menu;
    } else {
      const text = document.createElement('input');
      text.className = 'jp-mod-styled';
      text.value = shown(p.default);
      text.required = p.required;
      if (p.kind === 'int' || p.kind === 'float') {
        text.inputMode = p.kind === 'int' ? 'numeric' : 'decimal';
      }
      text.addEventListener('input', () => this._check());
      input = text;
    }
    input.name = p.name;
    input.dataset.kind = p.kind;
    this._inputs.set(p.name, input);
    label.append(name, input);
    return label;
  }

  // The dialog's Submit waits until every value will do, saying which will not and why.
  private _check(): void {
    const problem = this.problem();
    this._problem.textContent = problem;
    this._problem.className = 'aml-SubmitForm-problem';
    if (!this._problem.isConnected) {
      this.node.appendChild(this._problem);
    }
    for (const [name, input] of this._inputs) {
      const p = this.info.parameters.find(q => q.name === name)!;
      input.setAttribute('aria-invalid', String(input.type !== 'checkbox' && input.tagName !== 'SELECT' && !!problemWith(p, input.value)));
    }
    const accept = this.node.closest('.jp-Dialog')?.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
    if (accept) {
      accept.disabled = !!problem;
    }
  }

  private _inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  private _args = document.createElement('input');
  private _problem = document.createElement('p');
  private _target = document.createElement('select');
  private _experiment = document.createElement('input');
}

/** Asks what to submit; null when the user cancels. Errors of the server are thrown. */
export async function askSubmit(client: AmlClient, path: string, trans: TranslationBundle): Promise<ISubmitValue | null> {
  const [info, targets, experiments] = await Promise.all([
    client.jobParameters(path),
    client.targets().catch(() => [] as ITarget[]),
    client.experiments().catch(() => [] as IExperiment[])
  ]);
  const form = new SubmitForm(info, targets, lastExperiment(experiments), trans);
  const result = await showDialog({
    title: trans.__('Submit %1 as an aml run', path),
    body: form,
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Submit') })],
    focusNodeSelector: 'input'
  });
  return result.button.accept ? form.getValue() : null;
}

/** Asks for edited params before a rerun; null when cancelled. */
export async function askRerun(params: Record<string, string>, trans: TranslationBundle): Promise<Record<string, string> | null> {
  const body = new Widget();
  body.addClass('aml-SubmitForm');
  const inputs = new Map<string, HTMLInputElement>();
  for (const [k, v] of Object.entries(params)) {
    const label = document.createElement('label');
    label.className = 'aml-SubmitForm-field';
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.value = v;
    input.name = k;
    inputs.set(k, input);
    label.append(document.createTextNode(k), input);
    body.node.appendChild(label);
  }
  if (!inputs.size) {
    body.node.textContent = trans.__('This run has no params: it runs again as it was.');
  }
  const result = await showDialog({
    title: trans.__('Rerun with these params'),
    body,
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Rerun') })]
  });
  if (!result.button.accept) {
    return null;
  }
  const edits: Record<string, string> = {};
  for (const [k, input] of inputs) {
    if (input.value !== params[k]) {
      edits[k] = input.value;
    }
  }
  return edits;
}
