/**
 * The merchant console: sign in with an admin key (kept in this tab's sessionStorage only:
 * never localStorage, never a cookie), then four pages addressed by the URL's fragment
 * (#/overview, #/calls, #/customer[/<id>], #/campaigns). Everything it shows comes from
 * the API, through the typed client.
 */
import './styles.css';
import { callList } from './calls.ts';
import { campaignsPage } from './campaigns.ts';
import { ApiProblem, createApi, ok } from './client.ts';
import { customerPage } from './customer.ts';
import { describeProblem, field, h, replace } from './dom.ts';
import { overview } from './overview.ts';
import type { View } from './view.ts';

const KEY_ITEM = 'loyalty-console-admin-key';

const PAGES: { path: string; title: string; view: View }[] = [
  { path: 'overview', title: 'Overview', view: overview },
  { path: 'calls', title: 'Call list', view: callList },
  { path: 'customer', title: 'Customer', view: customerPage },
  { path: 'campaigns', title: 'Campaigns', view: campaignsPage },
];

const locale = navigator.language || undefined;
const app = document.getElementById('app') as HTMLElement;

/** What the API's answer to a sign-in means for the merchant. */
function signInProblem(error: unknown): string {
  if (error instanceof ApiProblem && error.status === 401)
    return 'That key was not accepted: it is not a key of this API, or it was revoked. Check it for a typo. An admin key is the one npm start printed on its first start (or LOYALTY_ADMIN_KEY), or in AWS one made by npm run admin-key.';
  if (error instanceof ApiProblem && error.status === 403)
    return 'That key works, but it is not an admin key (it belongs to a till, a partner or an app). The console needs an admin key.';
  return `Could not sign in: ${describeProblem(error)}`;
}

function signIn(message = ''): void {
  const key = h('input', {
    name: 'key',
    type: 'password',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error' }, message);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Loyalty console'),
    h(
      'p',
      {},
      'Sign in with an admin API key. It stays in this browser tab only, and is forgotten when the tab closes or you sign out.',
    ),
    field('Admin API key', key),
    error,
    submit,
  );
  key.setAttribute('aria-describedby', 'sign-in-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    const candidate = key.value.trim();
    try {
      // An admin-only route: a till's or partner's key gets 403, an unknown one 401.
      await ok(createApi(candidate).GET('/v1/stores', { params: { query: { limit: 1 } } }));
      sessionStorage.setItem(KEY_ITEM, candidate);
      if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/overview');
      start(candidate);
    } catch (e) {
      error.textContent = signInProblem(e);
      key.focus();
    } finally {
      submit.disabled = false;
    }
  });
  document.title = 'Sign in · Loyalty console';
  replace(app, h('main', { id: 'main', class: 'narrow' }, form));
  key.focus();
}

function signOut(message?: string): void {
  // Several calls in flight may each find the key refused: the first signs out.
  if (sessionStorage.getItem(KEY_ITEM) === null && !document.querySelector('header.top')) return;
  showing.abort();
  sessionStorage.removeItem(KEY_ITEM);
  window.removeEventListener('hashchange', route);
  signIn(message);
}

let showing = new AbortController();
let api: ReturnType<typeof createApi>;
let main: HTMLElement;
let nav: HTMLElement;

function route(): void {
  const [name = 'overview', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const page = PAGES.find((p) => p.path === name) ?? (PAGES[0] as (typeof PAGES)[number]);
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.page === page.path) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  showing.abort();
  showing = new AbortController();
  document.title = `${page.title} · Loyalty console`;
  const shown = page.view({ api, main, signal: showing.signal, param: rest.join('/'), locale });
  main.querySelector<HTMLElement>('h1')?.focus();
  shown.catch((error: unknown) => {
    if (error instanceof ApiProblem && error.status === 401) return;
    replace(
      main,
      h('h1', {}, page.title),
      h('p', { class: 'error', role: 'alert' }, describeProblem(error)),
    );
  });
}

function start(key: string): void {
  api = createApi(key);
  // A key revoked while the console is open: back to sign-in, saying why.
  api.use({
    onResponse: ({ response }) => {
      if (response.status === 401)
        signOut('The API stopped accepting this key (revoked?). Sign in again with an admin key.');
      return undefined;
    },
  });
  nav = h(
    'nav',
    { 'aria-label': 'Console' },
    h(
      'ul',
      {},
      PAGES.map((p) => h('li', {}, h('a', { href: `#/${p.path}`, 'data-page': p.path }, p.title))),
    ),
  );
  main = h('main', { id: 'main' });
  replace(
    app,
    h(
      'header',
      { class: 'top' },
      h(
        'a',
        {
          class: 'skip',
          href: '#main',
          onclick: (e: Event) => {
            e.preventDefault();
            main.querySelector<HTMLElement>('h1')?.focus();
          },
        },
        'Skip to content',
      ),
      h('p', { class: 'brand' }, 'Loyalty console'),
      nav,
      h('button', { type: 'button', class: 'sign-out', onclick: () => signOut() }, 'Sign out'),
    ),
    h('p', { id: 'status', role: 'status', class: 'status' }),
    main,
  );
  window.addEventListener('hashchange', route);
  route();
}

const stored = sessionStorage.getItem(KEY_ITEM);
if (stored) start(stored);
else signIn();
