-- 041: the observation result as a duty-report indicator (观摩评分). Off by default: the office
-- switches it on (and sets its weight) in 述职评议 › 指标设置 once observation rounds are scored.
INSERT INTO report_indicators (id, code, name, weight, direction, target, floor, display_unit, max_value,
                               enabled, position, note, updated_by)
SELECT nextval('report_indicators_seq'), 'observation_score', '观摩评分', 10.0, 'higher_better', 90.0, 60.0,
       '分', 100.0, false, 9, '自动取最近一次已评分观摩活动中，该单位作为观摩点所得的平均得分（百分制）', 'system'
WHERE NOT EXISTS (SELECT 1 FROM report_indicators WHERE code = 'observation_score');
