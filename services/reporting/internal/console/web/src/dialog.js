// ask: a modal dialog (the browser's own <dialog>, so focus stays in it and
// Escape cancels) with a few fields, for changes that want a second
// look or a reason. It resolves with the fields' trimmed values by name, or
// null when cancelled.
import { h } from './format.js';

export function ask({ title, text, fields = [], confirm = 'OK', danger = false }) {
  return new Promise((resolve) => {
    // A field with options is a choice among them, else a line of text.
    const inputs = fields.map((f) => (f.options
      ? h('select', { id: `dialog-${f.name}`, name: f.name }, f.options.map((o) => h('option', { value: o, selected: o === f.value }, o)))
      : h('input', {
        id: `dialog-${f.name}`, name: f.name, type: 'text', value: f.value ?? '', maxlength: f.maxlength, pattern: f.pattern,
        required: f.required, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': f.hint ? `dialog-${f.name}-hint` : undefined,
      })));
    let answer = null;
    const dialog = h('dialog', { class: 'ask', 'aria-labelledby': 'dialog-title' },
      h('form', {
        method: 'dialog', onsubmit: (e) => {
          if (e.submitter?.value !== 'confirm') return;
          answer = Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
        },
      },
      h('h2', { id: 'dialog-title' }, title),
      text ? h('p', {}, text) : null,
      fields.map((f, i) => h('div', { class: 'field' },
        h('label', { for: `dialog-${f.name}` }, f.label), inputs[i],
        f.hint ? h('p', { class: 'hint', id: `dialog-${f.name}-hint` }, f.hint) : null)),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', value: 'cancel', class: 'secondary', formnovalidate: true }, 'Cancel'),
        h('button', { type: 'submit', value: 'confirm', class: danger ? 'danger' : '' }, confirm))));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// list splits a field of comma- or space-separated values.
export const list = (v) => (v || '').split(/[\s,;]+/).filter(Boolean);
