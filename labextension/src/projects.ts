/**
 * "New aml Project…" (the launcher's aml card and the palette): a project folder from one of the
 * gallery's templates (`GET templates`), rendered by the server into a new folder of the project
 * (`POST templates/{template}/new`).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { AmlClient, AnswerOf } from './client';

type Template = AnswerOf<'templates'>['templates'][number];

class NewProjectForm extends Widget {
  constructor(templates: Template[], trans: TranslationBundle) {
    super();
    this.addClass('aml-NewProjectForm');
    const label = (text: string, field: HTMLElement): HTMLLabelElement => {
      const l = document.createElement('label');
      l.textContent = text;
      l.appendChild(field);
      return l;
    };
    this.template.name = 'template';
    this.template.className = 'jp-mod-styled';
    for (const t of templates) {
      const option = document.createElement('option');
      option.value = t.name;
      option.textContent = t.title;
      this.template.appendChild(option);
    }
    this.about.className = 'aml-NewProjectForm-about';
    const describe = (): void => {
      const chosen = templates.find(t => t.name === this.template.value);
      this.about.textContent = chosen ? chosen.description : '';
      if (!this.folderEdited) {
        this.folder.value = `my-${this.template.value}`;
      }
    };
    this.template.addEventListener('change', describe);
    this.folder.name = 'folder';
    this.folder.className = 'jp-mod-styled';
    this.folder.addEventListener('input', () => (this.folderEdited = true));
    describe();
    this.node.append(
      label(trans.__('Template'), this.template),
      this.about,
      label(trans.__('New folder (inside this project: its runs go to this project)'), this.folder)
    );
  }

  getValue(): { template: string; folder: string } {
    return { template: this.template.value, folder: this.folder.value.trim() };
  }

  readonly template = document.createElement('select');
  readonly folder = document.createElement('input');
  private about = document.createElement('p');
  private folderEdited = false;
}

/** Asks for a template and a folder, then makes the project; what was made, or null if cancelled. */
export async function askNewProject(client: AmlClient, trans: TranslationBundle): Promise<AnswerOf<'new_project'> | null> {
  const { templates } = await client.templates();
  const form = new NewProjectForm(templates, trans);
  const answer = await showDialog({
    title: trans.__('New aml project from a template'),
    body: form,
    focusNodeSelector: 'select',
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Create') })]
  });
  if (!answer.button.accept || !answer.value) {
    return null;
  }
  return client.newProject(answer.value.template, answer.value.folder);
}
