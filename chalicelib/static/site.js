// eSO page behaviour (progressive enhancement only).
