/** The colour theme: the system's (prefers-color-scheme) unless the user chose one. */
export type Theme = 'light' | 'dark';

const THEME_KEY = 'estate.theme';

/** The theme in force: the user's choice, else the system's. */
export function currentTheme(): Theme {
  const chosen = localStorage.getItem(THEME_KEY);
  if (chosen === 'light' || chosen === 'dark') return chosen;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Applies a theme to the page (`<html data-theme>`, read by styles.css) and remembers the choice. */
export function applyTheme(theme: Theme, remember: boolean): void {
  document.documentElement.dataset['theme'] = theme;
  if (remember) localStorage.setItem(THEME_KEY, theme);
}
