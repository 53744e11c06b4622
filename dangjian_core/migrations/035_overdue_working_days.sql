-- 035: 逾期看板的逾期天数按自然日（默认）或工作日（只扣除周六、周日；没有节假日表）计算
ALTER TABLE report_settings ADD COLUMN overdue_count VARCHAR DEFAULT 'calendar';
