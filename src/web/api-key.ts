/**
 * The API key, when the server asks for one (401 on /api/). The page never receives the key from the server:
 * the user types it once (kept in this tab's sessionStorage, or in localStorage when they tick "Remember on
 * this device"), or opens a link that carries it in the URL fragment (`/#key=…`), which browsers never send to
 * a server; the fragment is removed from the address bar at once.
 */

const STORAGE_KEY = 'pneumoscope-api-key';

function stored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the key lives in memory only
  }
}

let key: string | null = null;
let loaded = false;

/** A key handed over in the URL fragment (`#key=…`), taken once and removed from the address bar. */
function keyFromFragment(): string | null {
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  return decodeURIComponent(match[1]);
}

/** The key to send, if any. */
export function currentKey(): string | null {
  if (!loaded) {
    loaded = true;
    const fromUrl = keyFromFragment();
    if (fromUrl) remember(fromUrl, false);
    else key = stored();
  }
  return key;
}

function remember(value: string, persist: boolean): void {
  key = value;
  try {
    sessionStorage.setItem(STORAGE_KEY, value);
    if (persist) localStorage.setItem(STORAGE_KEY, value);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: memory only
  }
}

/** Forgets a key the server refused, everywhere it was kept. */
export function forgetKey(): void {
  key = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
    localStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

let asking: Promise<string | null> | null = null;

/**
 * Asks the user for the key (one dialog however many requests are waiting). Resolves with the key, or null
 * when the user cancels.
 */
export function askForKey(reason: string): Promise<string | null> {
  asking ??= new Promise<string | null>((resolve) => {
    const input = element('input', {
      type: 'password',
      id: 'api-key-input',
      name: 'api-key',
      autocomplete: 'current-password',
      required: true,
    });
    const persist = element('input', { type: 'checkbox', id: 'api-key-remember' });
    const submit = element('button', {
      type: 'submit',
      className: 'button button-primary',
      textContent: 'Use key',
    });
    const cancel = element('button', { type: 'button', className: 'button', textContent: 'Cancel' });
    const form = element(
      'form',
      { method: 'dialog' },
      element('h2', { textContent: 'API key needed' }),
      element('p', { textContent: reason }),
      element('label', { htmlFor: 'api-key-input', textContent: 'API key' }),
      ' ',
      input,
      element(
        'p',
        {},
        persist,
        ' ',
        element('label', { htmlFor: 'api-key-remember', textContent: 'Remember on this device' }),
      ),
      element('p', {}, submit, ' ', cancel),
    );
    const dialog = element('dialog', { id: 'api-key-dialog' }, form);
    dialog.setAttribute('aria-labelledby', 'api-key-title');
    form.querySelector('h2')!.id = 'api-key-title';
    const done = (value: string | null) => {
      dialog.close();
      dialog.remove();
      asking = null;
      if (value) remember(value, persist.checked);
      resolve(value);
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      done(input.value.trim() || null);
    });
    cancel.addEventListener('click', () => done(null));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      done(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return asking;
}
