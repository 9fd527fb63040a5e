declare module '@doyensec/electronegativity' {
  interface Level {
    name: string;
    value: number;
  }
  export interface Finding {
    id: string;
    file: string;
    location: { line: number; column: number };
    severity: Level;
    confidence: Level;
    manualReview: boolean;
    description: string;
    shortenedURL: string;
  }
  export interface RunOptions {
    input: string;
    output?: string | null;
    isSarif?: boolean;
    customScan?: string[];
    excludeFromScan?: string[];
    severitySet?: string;
    confidenceSet?: string;
    isRelative?: boolean;
    isVerbose?: boolean;
    electronVersionOverride?: string;
  }
  export default function run(
    options: RunOptions,
    forCli?: false,
  ): Promise<{ globalChecks: number; atomicChecks: number; errors: { file: string; message: string }[]; issues: Finding[] }>;
}
