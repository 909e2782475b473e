/** openapi-fetch's results as values or `AgentryApiError`s: what every resource method does with an answer. */
import { apiErrorOf } from './errors.js';

export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data; an answer that is not 2xx as an `AgentryApiError`. */
export async function ok<T>(result: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await result;
  if (!response.ok) throw await apiErrorOf(response, error);
  return data as T;
}

/** The data and the response (for its headers). */
export async function withResponse<T>(result: Promise<FetchResult<T>>): Promise<{ data: T; response: Response }> {
  const { data, error, response } = await result;
  if (!response.ok) throw await apiErrorOf(response, error);
  return { data: data as T, response };
}
