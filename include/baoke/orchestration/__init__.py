"""What the DAG files share: default arguments, the business date, the Cosmos setup.

DAG files only wire tasks; anything with logic lives here or in the feature modules.
"""
