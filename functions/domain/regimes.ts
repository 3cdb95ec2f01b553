import { z } from 'zod';

/**
 * The legal regimes a request can be governed by, and the time limits each sets. Every rule names the
 * text it comes from and where that text was read. A regime is encoded only once its own text was read:
 * Colorado (C.R.S. § 6-1-1306(2)), Oregon (ORS 646A.570–.589) and the other state laws are not, yet,
 * because only summaries of their time limits could be found.
 *
 * Readings shared by every rule, chosen so a deadline shown here is never later than the law's:
 * - A period "after receipt" starts the day after the day of receipt; the day of receipt is counted only
 *   where the text says the period begins on it (CCPA regulations § 7021(b)).
 * - A period ends at the end of its last day in the regime's time zone (configurable per request).
 * - Business days are Monday to Friday; no public-holiday calendar is built in (an operator may pass
 *   the holidays it observes). Leaving holidays out can only make a business-day deadline earlier.
 */

export const REGIME_IDS = ['gdpr', 'ccpa', 'vcdpa', 'ctdpa', 'ucpa', 'tdpsa'] as const;
export type RegimeId = (typeof REGIME_IDS)[number];
export const RegimeIdSchema = z.enum(REGIME_IDS);

export function isRegimeId(v: unknown): v is RegimeId {
  return typeof v === 'string' && (REGIME_IDS as readonly string[]).includes(v);
}

/**
 * What the request obliges the business to do, each with its own clock: answer and act on an erasure
 * request, stop selling/sharing after an opt-out, stop processing after consent is revoked.
 */
export const DUTIES = ['erasure', 'opt_out_sale_sharing', 'consent_revocation'] as const;
export type Duty = (typeof DUTIES)[number];
export const DutySchema = z.enum(DUTIES);

export function isDuty(v: unknown): v is Duty {
  return typeof v === 'string' && (DUTIES as readonly string[]).includes(v);
}

export const PERIOD_UNITS = ['months', 'days', 'business_days'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

/** A length of time as the law states it. */
export interface Period {
  unit: PeriodUnit;
  count: number;
}

/** Where a rule comes from, and where its text was read when it was encoded. */
export interface LegalSource {
  citation: string;
  url: string;
  /** The copy of the text this rule was checked against (official page, or a verbatim reproduction). */
  readIn: string;
}

/** The one extension a duty allows. */
export interface ExtensionRule {
  /** Added to the initial period, both counted from receipt. */
  by: Period;
  /** The person must be told (with reasons) before the initial period ends. */
  noticeWithin: 'initial_period';
  source: LegalSource;
}

/** The clock of one duty under one regime. */
export interface DutyRule {
  period: Period;
  /** The day of receipt is day 1 of the period (otherwise the period starts the next day). */
  receiptDayCounts: boolean;
  /** A period whose last day is a Saturday, Sunday or listed holiday ends on the next working day. */
  rollsOverNonWorkingDay: boolean;
  extension: ExtensionRule | null;
  /** One line for operators and the report. */
  summary: string;
  source: LegalSource;
}

export interface Regime {
  id: RegimeId;
  name: string;
  /** The zone whose calendar days the periods count, unless the request names another. */
  defaultTimeZone: string;
  /** Why that zone: for a jurisdiction spanning zones, the one whose day ends first. */
  timeZoneNote: string;
  duties: { erasure: DutyRule } & Partial<Record<Exclude<Duty, 'erasure'>, DutyRule>>;
}

// The 45 + 45 rule the state laws share: 45 days after receipt, extendable once by 45 with notice
// (and reasons) inside the first 45.
function stateFortyFive(summary: string, source: LegalSource): DutyRule {
  return {
    period: { unit: 'days', count: 45 },
    receiptDayCounts: false,
    rollsOverNonWorkingDay: false,
    extension: { by: { unit: 'days', count: 45 }, noticeWithin: 'initial_period', source },
    summary,
    source,
  };
}

const CT_CHAPTER = 'https://www.cga.ct.gov/current/pub/chap_743jj.htm';

/** The table of regimes. */
export const REGIMES: Readonly<Record<RegimeId, Regime>> = {
  gdpr: {
    id: 'gdpr',
    name: 'EU General Data Protection Regulation',
    // The continental Member States on Eastern European Time see midnight first; the outermost regions
    // (Réunion, UTC+4) are not covered by this default: set the controller's own zone per request.
    defaultTimeZone: 'Europe/Helsinki',
    timeZoneNote: 'Eastern European Time, the continental EU zone whose day ends first; set the controller’s zone if known',
    duties: {
      // Art. 12(3): "without undue delay and in any event within one month of receipt of the request.
      // That period may be extended by two further months where necessary … The controller shall inform
      // the data subject of any such extension within one month of receipt of the request, together with
      // the reasons for the delay." Erasure on withdrawal of consent is Art. 17(1)(b).
      // Counted under Regulation 1182/71: the day of receipt is not counted (Art. 3(1)); a month period
      // ends on the same date in the last month, or that month's last day if it has no such date
      // (Art. 3(2)(c)); a period ending on a Saturday, Sunday or public holiday ends on the next working
      // day (Art. 3(4)). The extension is read as one period of three months from receipt.
      erasure: {
        period: { unit: 'months', count: 1 },
        receiptDayCounts: false,
        rollsOverNonWorkingDay: true,
        extension: {
          by: { unit: 'months', count: 2 },
          noticeWithin: 'initial_period',
          source: {
            citation: 'GDPR Art. 12(3), second and third sentences',
            url: 'https://eur-lex.europa.eu/eli/reg/2016/679/oj',
            readIn: 'Official Journal wording as quoted verbatim in several copies; Data Protection Commission (dataprotection.ie) “How long will it take?”',
          },
        },
        summary: 'one calendar month from receipt (Reg. 1182/71), +2 months if the person is told with reasons within the first month',
        source: {
          citation: 'GDPR Art. 12(3); Regulation (EEC, Euratom) No 1182/71 Art. 3(1), 3(2)(c), 3(4)',
          url: 'https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:31971R1182',
          readIn: 'Reg. 1182/71 English text of OJ L 124, 8.6.1971 (wordscope.be extracts of Art. 3(1), 3(2)(c), 3(4)); GDPR Art. 12(3) as above',
        },
      },
    },
  },
  ccpa: {
    id: 'ccpa',
    name: 'California Consumer Privacy Act (as amended by the CPRA)',
    defaultTimeZone: 'America/Los_Angeles',
    timeZoneNote: 'California',
    duties: {
      // Civ. Code § 1798.130(a)(2)(A): "within 45 days of receiving a verifiable consumer request … may be
      // extended once by an additional 45 days when reasonably necessary, provided the consumer is
      // provided notice of the extension within the first 45-day period."
      // 11 CCR § 7021(b): "no later than 45 calendar days after receipt of the request. The 45-day period
      // will begin on the day that the business receives the request … up to an additional 45 calendar
      // days … for a maximum total of 90 calendar days from the day the request is received, provided that
      // the business provides the consumer with notice and an explanation of the reason". Because the
      // period begins on the day of receipt, that day is counted as day 1.
      erasure: {
        period: { unit: 'days', count: 45 },
        receiptDayCounts: true,
        rollsOverNonWorkingDay: false,
        extension: {
          by: { unit: 'days', count: 45 },
          noticeWithin: 'initial_period',
          source: {
            citation: 'Cal. Civ. Code § 1798.130(a)(2)(A); 11 CCR § 7021(b)',
            url: 'https://leginfo.legislature.ca.gov/faces/codes_displaySection.xhtml?lawCode=CIV&sectionNum=1798.130',
            readIn: 'verbatim copies of § 1798.130(a)(2)(A) (proteuscyber.com) and § 7021 (advisori.com)',
          },
        },
        summary: '45 calendar days counting the day of receipt, +45 (90 in all) with notice and reasons inside the first 45',
        source: {
          citation: '11 CCR § 7021(b); Cal. Civ. Code § 1798.130(a)(2)(A)',
          url: 'https://cppa.ca.gov/regulations/',
          readIn: 'verbatim copy of § 7021 (advisori.com); verbatim copy of § 1798.130(a)(2)(A) (proteuscyber.com)',
        },
      },
      // 11 CCR § 7026(f)(1): cease selling/sharing "as soon as feasibly possible, but no later than 15
      // business days from the date the business receives the request"; no extension.
      opt_out_sale_sharing: {
        period: { unit: 'business_days', count: 15 },
        receiptDayCounts: false,
        rollsOverNonWorkingDay: false,
        extension: null,
        summary: '15 business days after receipt to stop selling or sharing; no extension',
        source: {
          citation: '11 CCR § 7026(f)(1) (formerly § 999.315(e))',
          url: 'https://www.law.cornell.edu/regulations/california/11-CCR-7026',
          readIn: 'verbatim text of the predecessor § 999.315(e) and quotations of § 7026(f); the CPPA page itself was not available',
        },
      },
    },
  },
  vcdpa: {
    id: 'vcdpa',
    name: 'Virginia Consumer Data Protection Act',
    defaultTimeZone: 'America/New_York',
    timeZoneNote: 'Virginia',
    duties: {
      // Va. Code § 59.1-577(B)(1): "within 45 days of receipt of the request … may be extended once by 45
      // additional days … so long as the controller informs the consumer of any such extension within the
      // initial 45-day response period, together with the reason for the extension."
      erasure: stateFortyFive('45 days after receipt, +45 once with notice and reasons inside the first 45', {
        citation: 'Va. Code § 59.1-577(B)(1)',
        url: 'https://law.lis.virginia.gov/vacode/title59.1/chapter53/section59.1-577/',
        readIn: 'verbatim reproduction in “GDPR and US States General Privacy Laws Deskbook”, p. 392',
      }),
    },
  },
  ctdpa: {
    id: 'ctdpa',
    name: 'Connecticut Data Privacy Act',
    defaultTimeZone: 'America/New_York',
    timeZoneNote: 'Connecticut',
    duties: {
      // Conn. Gen. Stat. § 42-518(c)(1): "not later than forty-five days after receipt of the request. The
      // controller may extend the response period by forty-five additional days … provided the controller
      // informs the consumer of any such extension within the initial forty-five-day response period and
      // of the reason for the extension."
      erasure: stateFortyFive('45 days after receipt, +45 once with notice and reasons inside the first 45', {
        citation: 'Conn. Gen. Stat. § 42-518(c)(1)',
        url: `${CT_CHAPTER}#sec_42-518`,
        readIn: 'verbatim reproduction in “GDPR and US States General Privacy Laws Deskbook”, p. 166',
      }),
      // § 42-520(a): a controller shall "provide an effective mechanism for a consumer to revoke the
      // consumer's consent … and, upon revocation of such consent, cease to process the data as soon as
      // practicable, but not later than fifteen days after the receipt of such request". No extension.
      consent_revocation: {
        period: { unit: 'days', count: 15 },
        receiptDayCounts: false,
        rollsOverNonWorkingDay: false,
        extension: null,
        summary: 'stop processing within 15 days after receipt of a consent revocation; no extension',
        source: {
          citation: 'Conn. Gen. Stat. § 42-520(a) (P.A. 22-15 § 6(a)(6); the subdivision may be renumbered by later acts)',
          url: 'https://www.cga.ct.gov/2022/act/pa/pdf/2022PA-00015-R00SB-00006-PA.PDF',
          readIn: 'the sentence as quoted verbatim with that citation; the official PDF itself was not available',
        },
      },
    },
  },
  ucpa: {
    id: 'ucpa',
    name: 'Utah Consumer Privacy Act',
    defaultTimeZone: 'America/Denver',
    timeZoneNote: 'Utah',
    duties: {
      // Utah Code § 13-61-203(2): "Within 45 days after the day on which a controller receives a request
      // … may extend once the initial 45-day period by an additional 45 days … before the initial 45-day
      // period expires, the controller shall (i) inform the consumer of the extension, including the
      // length of the extension; and (ii) provide the reasons".
      erasure: stateFortyFive('45 days after the day of receipt, +45 once with notice, length and reasons before the first 45 expire', {
        citation: 'Utah Code § 13-61-203(2)',
        url: 'https://le.utah.gov/xcode/Title13/Chapter61/13-61-S203.html',
        readIn: 'verbatim copies (codes.findlaw.com, lexace.ai, self-law.org, privacy.gtlaw.com)',
      }),
    },
  },
  tdpsa: {
    id: 'tdpsa',
    name: 'Texas Data Privacy and Security Act',
    // El Paso and Hudspeth counties keep Mountain Time; Central Time's day ends first.
    defaultTimeZone: 'America/Chicago',
    timeZoneNote: 'Texas (Central Time, whose day ends before the Mountain Time counties’)',
    duties: {
      // Tex. Bus. & Com. Code § 541.052(b): "without undue delay, which may not be later than the 45th day
      // after the date of receipt of the request. The controller may extend the response period once by
      // an additional 45 days … so long as the controller informs the consumer of the extension within the
      // initial 45-day response period, together with the reason for the extension."
      erasure: stateFortyFive('the 45th day after receipt, +45 once with notice and reasons inside the first 45', {
        citation: 'Tex. Bus. & Com. Code § 541.052(b)',
        url: 'https://statutes.capitol.texas.gov/Docs/BC/htm/BC.541.htm#541.052',
        readIn: 'verbatim copy (codes.findlaw.com)',
      }),
    },
  },
};

/** The rule of one duty under a regime, or undefined when that law sets no separate clock for it. */
export function dutyRule(regime: RegimeId, duty: Duty): DutyRule | undefined {
  const duties: Partial<Record<Duty, DutyRule>> = REGIMES[regime].duties;
  return duties[duty];
}
