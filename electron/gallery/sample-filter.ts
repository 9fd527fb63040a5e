import { SampleQuery } from '../../common/contract/gallery';
import { DEFAULT_CFG_SCALE } from '../../common/contract/run-request';

/**
 * The w a run drew with, over the `runs` row aliased `r`: the request's weight, or the default
 * when it named none, in the classifier-free modes; NULL in the others. Sample rows do not copy
 * the weight, so a filter on it picks the runs first and their samples by run id.
 */
export const RUN_CFG_SCALE_SQL = `CASE WHEN r.request ->> '$.mode' IN ('classifier-free', 'classifier-free+classifier')
  THEN coalesce(r.request ->> '$.cfgScale', ${DEFAULT_CFG_SCALE}) END`;

export type ParsedSampleQuery = ReturnType<typeof SampleQuery.parse>;

export interface SqlFilter {
  /** `WHERE …` (or an empty string) over the `samples` table aliased `s`. */
  where: string;
  params: Record<string, string | number>;
}

/**
 * Turns the gallery filters into one WHERE clause with named parameters; the clause
 * text depends only on which filters are present, so prepared statements can be reused.
 */
export function sampleFilterSql(query: Omit<ParsedSampleQuery, 'limit'>, options: { keyset: boolean }): SqlFilter {
  const clauses: string[] = [];
  const params: Record<string, string | number> = {};
  const add = (clause: string, name: string, value: string | number) => {
    clauses.push(clause);
    params[name] = value;
  };
  if (query.modelId !== undefined) add('s.model_id = @modelId', 'modelId', query.modelId);
  if (query.classIndex !== undefined) add('s.class_index = @classIndex', 'classIndex', query.classIndex);
  if (query.scaleMin !== undefined) add('s.scale >= @scaleMin', 'scaleMin', query.scaleMin);
  if (query.scaleMax !== undefined) add('s.scale <= @scaleMax', 'scaleMax', query.scaleMax);
  if (query.cfgScaleMin !== undefined) add(`s.run_id IN (SELECT r.id FROM runs r WHERE ${RUN_CFG_SCALE_SQL} >= @cfgScaleMin)`, 'cfgScaleMin', query.cfgScaleMin);
  if (query.cfgScaleMax !== undefined) add(`s.run_id IN (SELECT r.id FROM runs r WHERE ${RUN_CFG_SCALE_SQL} <= @cfgScaleMax)`, 'cfgScaleMax', query.cfgScaleMax);
  if (query.sampler !== undefined) add('s.sampler = @sampler', 'sampler', query.sampler);
  if (query.favorite !== undefined) add('s.favorite = @favorite', 'favorite', query.favorite ? 1 : 0);
  if (query.runId !== undefined) add('s.run_id = @runId', 'runId', query.runId);
  if (query.tag !== undefined) {
    add('EXISTS (SELECT 1 FROM sample_tags t WHERE t.sample_id = s.id AND t.tag = @tag)', 'tag', query.tag);
  }
  // instr() rather than LIKE so that % and _ typed by the user are plain text.
  if (query.notesText !== undefined) add('instr(lower(s.notes), lower(@notesText)) > 0', 'notesText', query.notesText);
  if (query.hideEvaluations === true) clauses.push('NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = s.run_id AND r.evaluation_id IS NOT NULL)');
  if (options.keyset && query.before !== undefined) add('s.id < @before', 'before', query.before);
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
