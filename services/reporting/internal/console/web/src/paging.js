// Every List call of the services pages: listAll reads a whole list, page
// after page, following next_page_token until it is empty.
import { call } from './api.js';

const PAGE = 1000; // the most a List call gives
const MAX_PAGES = 1000; // a guard against a token that never ends

export async function listAll(service, method, body, field, signal) {
  const items = [];
  let token = '';
  for (let i = 0; i < MAX_PAGES; i++) {
    const res = await call(service, method, { ...body, page_size: PAGE, page_token: token }, signal);
    items.push(...(res[field] || []));
    token = res.next_page_token || '';
    if (!token) return items;
  }
  throw new Error(`${method} did not end after ${MAX_PAGES} pages`);
}
