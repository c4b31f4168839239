import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/step.config.js';
import { buildDataSourceOptions } from './src/database/database.options.js';

/**
 * The DataSource for the TypeORM CLI (`npm run typeorm -- migration:show`), on the database of the
 * configured STEP_DATA_DIR.
 */
export default new DataSource(buildDataSourceOptions(loadConfig().storage.dataDir));
