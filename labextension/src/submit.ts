/**
 * "Submit as aml run": a dialog over a notebook's parameters cell (or a script's argparse
 * options), read through the server, each parameter with its default to edit, a target and an
 * experiment. Values are sent as typed: numbers, booleans and JSON literals as such, the rest as text.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { AmlClient, IJobParameters, ITarget } from './client';

export interface ISubmitValue {
  path: string;
  params: Record<string, unknown>;
  target: string;
  experiment: string;
}

/** A typed value from what the user typed, shaped like the default (text stays text). */
export function parseValue(text: string, like: unknown): unknown {
  if (typeof like === 'string') {
    return text;
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    return like === null ? null : text;
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    if (trimmed === 'True' || trimmed === 'False') {
      return trimmed === 'True';
    }
    return text;
  }
}

function shown(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

class SubmitForm extends Widget {
  constructor(
    private readonly info: IJobParameters,
    targets: ITarget[],
    experiment: string,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('aml-SubmitForm');
    const note = document.createElement('p');
    if (info.kind === 'notebook' && !info.has_parameters_cell) {
      note.textContent = trans.__(
        'This notebook has no cell tagged "parameters": it runs as it is. Tag a cell "parameters" to edit values here.'
      );
      note.className = 'aml-SubmitForm-note';
    } else if (!info.parameters.length) {
      note.textContent = trans.__('No parameters found.');
    }
    this.node.appendChild(note);
    for (const p of info.parameters) {
      const label = document.createElement('label');
      label.className = 'aml-SubmitForm-field';
      const name = document.createElement('span');
      name.textContent = p.name + (p.required ? ' *' : '');
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.name = p.name;
      input.value = shown(p.default);
      input.required = p.required;
      this._inputs.set(p.name, input);
      label.append(name, input);
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

  getValue(): ISubmitValue {
    const params: Record<string, unknown> = {};
    for (const p of this.info.parameters) {
      const input = this._inputs.get(p.name)!;
      if (input.value !== shown(p.default) || p.required) {
        params[p.name] = parseValue(input.value, p.default);
      }
    }
    return { path: this.info.path, params, target: this._target.value, experiment: this._experiment.value.trim() || 'default' };
  }

  private _inputs = new Map<string, HTMLInputElement>();
  private _target = document.createElement('select');
  private _experiment = document.createElement('input');
}

/** Asks what to submit; null when the user cancels. Errors of the server are thrown. */
export async function askSubmit(client: AmlClient, path: string, trans: TranslationBundle): Promise<ISubmitValue | null> {
  const [info, targets] = await Promise.all([client.jobParameters(path), client.targets().catch(() => [] as ITarget[])]);
  const stem = path.split('/').pop()!.replace(/\.(ipynb|py)$/, '');
  const form = new SubmitForm(info, targets, stem, trans);
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
