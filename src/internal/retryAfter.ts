/**
 * `Retry-After` as RFC 9110 (section 10.2.3) defines it: delta-seconds (a
 * non-negative integer) or an HTTP-date (IMF-fixdate, or the obsolete RFC 850
 * and asctime forms), and the non-standard `retry-after-ms` (a non-negative
 * number of milliseconds). Anything else is ignored, so the computed backoff
 * applies: a lenient date parser would read `-5` as a date in 2001, a wait of
 * zero.
 *
 * @internal
 */
import * as Duration from "effect/Duration"

/**
 * The longest wait a provider can ask for. Rate limits are per minute, so a
 * real wait rarely exceeds one; a longer value is a broken or hostile
 * header, and it would otherwise hold back every run sharing the provider's
 * rate limit or circuit (a fleet, on Redis) for as long as it says. Once
 * this much time has passed, one request goes out and a limit that still
 * holds is learnt again from its answer.
 */
export const maximum: Duration.Duration = Duration.minutes(5)

/** A provider's wait, between zero and `maximum`. */
export const clamp = (wait: Duration.Duration): Duration.Duration =>
  Duration.clamp(wait, { minimum: Duration.zero, maximum })

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
const DAY_LONG = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
const MONTH = `(${MONTHS.join("|")})`
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})"
// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
// rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT
const RFC_850 = new RegExp(`^${DAY_LONG}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`)
// asctime-date: Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`)

/** Epoch millis of a valid date and time, `undefined` for 31 Feb or 25:00. */
const utc = (
  year: number,
  month: string,
  day: string,
  hours: string,
  minutes: string,
  seconds: string
): number | undefined => {
  const m = MONTHS.indexOf(month)
  const d = Number(day)
  const [h, min, s] = [Number(hours), Number(minutes), Number(seconds)]
  // a leap second (60) is valid and read as the next second
  if (h > 23 || min > 59 || s > 60) return undefined
  const date = new Date(0)
  date.setUTCFullYear(year, m, d)
  if (date.getUTCMonth() !== m || date.getUTCDate() !== d) return undefined
  return date.getTime() + ((h * 60 + min) * 60 + s) * 1000
}

/**
 * A two-digit year that would be more than 50 years in the future is the
 * most recent past year with those digits (RFC 9110, section 5.6.7).
 */
const fullYear = (twoDigits: number, now: number): number => {
  const current = new Date(now).getUTCFullYear()
  const year = Math.floor(current / 100) * 100 + twoDigits
  return year > current + 50 ? year - 100 : year < current - 49 ? year + 100 : year
}

/** Epoch millis of an HTTP-date, `undefined` for anything that is not one. */
export const parseHttpDate = (value: string, now: number): number | undefined => {
  let match = IMF_FIXDATE.exec(value)
  if (match !== null) return utc(Number(match[3]), match[2]!, match[1]!, match[4]!, match[5]!, match[6]!)
  match = RFC_850.exec(value)
  if (match !== null) {
    return utc(fullYear(Number(match[3]), now), match[2]!, match[1]!, match[4]!, match[5]!, match[6]!)
  }
  match = ASCTIME.exec(value)
  if (match !== null) return utc(Number(match[6]), match[1]!, match[2]!.trim(), match[3]!, match[4]!, match[5]!)
  return undefined
}

/**
 * The wait of a `retry-after-ms` and a `Retry-After` header value (the
 * first that is valid), relative to `now` (epoch millis), clamped.
 */
export const parse = (
  millis: string | undefined,
  retryAfter: string | undefined,
  now: number
): Duration.Duration | undefined => {
  const ms = millis?.trim()
  if (ms !== undefined && /^\d+(?:\.\d+)?$/.test(ms)) return clamp(Duration.millis(Number(ms)))
  const value = retryAfter?.trim()
  if (value === undefined) return undefined
  if (/^\d+$/.test(value)) return clamp(Duration.millis(Number(value) * 1000))
  const date = parseHttpDate(value, now)
  return date === undefined ? undefined : clamp(Duration.millis(date - now))
}
