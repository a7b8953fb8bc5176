export const run = () => 'csv-export done';
