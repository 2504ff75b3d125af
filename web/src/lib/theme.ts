// Light, dark, or follow the system; the choice is kept in localStorage.
export type ThemeChoice = "system" | "light" | "dark";

const KEY = "dts.theme";

export function readTheme(): ThemeChoice {
  const value = window.localStorage.getItem(KEY);
  return value === "light" || value === "dark" ? value : "system";
}

export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === "system") {
    delete root.dataset.theme;
    window.localStorage.removeItem(KEY);
  } else {
    root.dataset.theme = choice;
    window.localStorage.setItem(KEY, choice);
  }
}

export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return choice === "system" ? "light" : choice === "light" ? "dark" : "system";
}
