/** Most entries one admin API listing returns (sessions, a user's files). */
export const ADMIN_LIST_LIMIT = 1000;
