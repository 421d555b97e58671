import type { Api } from './client.ts';

/** What a page of the console gets when it is shown. */
export interface ViewContext {
  api: Api;
  /** Where the page draws itself. */
  main: HTMLElement;
  /** Aborted when the merchant leaves the page: charts and late answers stop there. */
  signal: AbortSignal;
  /** The path after the page's name (`#/customer/<id>` gives `<id>`), or ''. */
  param: string;
  /** The browser's locale, for numbers and money. */
  locale: string | undefined;
}

export type View = (context: ViewContext) => Promise<void>;

/** The page's heading, focused when the page is shown (keyboard and screen-reader users start there). */
export function heading(title: string): HTMLHeadingElement {
  const h1 = document.createElement('h1');
  h1.tabIndex = -1;
  h1.textContent = title;
  return h1;
}
