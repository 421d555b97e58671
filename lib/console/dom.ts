/**
 * Building the page: elements from data with text nodes only (nothing the API returns is
 * ever parsed as HTML), dialogs, and the status line screen readers announce.
 */
import { ApiProblem } from './client.ts';

export type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('button', {type: 'button', onclick}, 'Save')`: attributes, listeners (`on...`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined)
      element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces what `parent` holds. */
export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** What went wrong, in the merchant's words, with the API's code for support. */
export function describeProblem(error: unknown): string {
  if (error instanceof ApiProblem) {
    const fields = error.errors.map((e) => `${e.path || 'body'}: ${e.message}`).join('; ');
    const detail = fields ? `${error.message} (${fields})` : error.message;
    return error.status === 0 ? detail : `${detail} [${error.status} ${error.code}]`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The page's status line (role=status): what an action did, announced politely. */
export function announce(message: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = message;
}

/** A labelled form field; `input` carries its own attributes. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  input.id ||= `f-${Math.random().toString(36).slice(2, 10)}`;
  const hintId = hint ? `${input.id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: input.id }, label),
    input,
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null,
  );
}

export interface DialogOptions {
  title: string;
  /** Says what the action is about (the customer's name and figures). */
  intro?: Child[];
  fields: HTMLElement[];
  submitLabel: string;
  /** The action cannot be undone: its button says so in red. */
  danger?: boolean;
  /**
   * Whether the action may be taken yet (a typed confirmation, a preview shown): the submit
   * button is disabled while false. Asked when the dialog opens and on every input or change
   * event in it, so a field that changes it dispatches one (`inputChanged`).
   */
  ready?: () => boolean;
  /** Runs the action; a thrown error is shown in the dialog, which stays open. */
  submit: (form: HTMLFormElement) => Promise<void>;
}

/**
 * A modal dialog with a form: focus moves into it, Escape or Cancel closes it, and it is
 * removed once closed. Resolves true when the action succeeded.
 */
export function openDialog(options: DialogOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const error = h('p', { class: 'error', role: 'alert' });
    const submitButton = h(
      'button',
      { type: 'submit', class: options.danger ? 'primary danger' : 'primary' },
      options.submitLabel,
    );
    const titleId = `d-${Math.random().toString(36).slice(2, 10)}`;
    let succeeded = false;
    const form = h(
      'form',
      {},
      h('h2', { id: titleId }, options.title),
      options.intro ? h('div', { class: 'intro' }, ...options.intro) : null,
      ...options.fields,
      error,
      h(
        'div',
        { class: 'dialog-actions' },
        submitButton,
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': titleId }, form);
    let busy = false;
    const enable = () => {
      submitButton.disabled = busy || !(options.ready?.() ?? true);
    };
    form.addEventListener('input', enable);
    form.addEventListener('change', enable);
    enable();
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (submitButton.disabled) return;
      busy = true;
      submitButton.disabled = true;
      error.textContent = '';
      try {
        await options.submit(form);
        succeeded = true;
        dialog.close();
      } catch (e) {
        error.textContent = describeProblem(e);
      } finally {
        busy = false;
        enable();
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(succeeded);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Tells the dialog around `element` that what its `ready` depends on changed. */
export const inputChanged = (element: Element) =>
  element.dispatchEvent(new Event('input', { bubbles: true }));

/** A "Loading..." placeholder, or the problem, for a part of the page that waits on the API. */
export const loading = (what: string) =>
  h('p', { class: 'muted', 'aria-busy': 'true' }, `Loading ${what}…`);

export const failure = (what: string, error: unknown) =>
  h('p', { class: 'error', role: 'alert' }, `Could not load ${what}: ${describeProblem(error)}`);
