// The theme: the system's (prefers-color-scheme) unless the user chose one
// with the toggle (kept in localStorage). Loaded by the shell and the login
// page.
const key = 'rheos-theme';
const saved = localStorage.getItem(key);
if (saved === 'dark' || saved === 'light') document.documentElement.dataset.theme = saved;

export function toggleTheme() {
  const cur = document.documentElement.dataset.theme ||
    (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  const next = cur === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  localStorage.setItem(key, next);
}
