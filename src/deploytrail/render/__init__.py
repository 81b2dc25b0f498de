"""Generated files: meta-runner XML, the steps docs page, Kibana and Elastic objects."""
