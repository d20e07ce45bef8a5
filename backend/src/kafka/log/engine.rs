//! The `nisshi_storage::Storage` trait: what [`LogStorage`] answers from its logs
//! (produce, fetch, offsets, deleting records and topics' logs) and what it hands to the
//! metadata store, keeping the answers every request asks for.

use super::LogStorage;
use async_trait::async_trait;
use nisshi_sans_io::{
    ConfigResource, ErrorCode, IsolationLevel, ListOffset, ScramMechanism,
    create_topics_request::CreatableTopic,
    delete_groups_response::DeletableGroupResult,
    delete_records_request::DeleteRecordsTopic,
    delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult},
    describe_cluster_response::DescribeClusterBroker,
    describe_configs_response::DescribeConfigsResult,
    describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic,
    fetch_response::AbortedTransaction,
    incremental_alter_configs_request::AlterConfigsResource,
    incremental_alter_configs_response::AlterConfigsResourceResponse,
    record::deflated,
    txn_offset_commit_response::TxnOffsetCommitResponseTopic,
};
use nisshi_storage::{
    BrokerRegistrationRequest, DELETE_RECORDS_INVALID_LOW_WATERMARK, Error, GroupDetail, ListOffsetResponse,
    MetadataResponse, NamedGroupDetail, OffsetCommitRequest, OffsetStage, ProducerIdResponse, Result, ScramCredential,
    Storage, TopicId, Topition, TxnAddPartitionsRequest, TxnAddPartitionsResponse, TxnOffsetCommitRequest, UpdateError,
    Version,
};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use url::Url;
use uuid::Uuid;

#[async_trait]
impl Storage for LogStorage {
    async fn register_broker(&self, broker_registration: BrokerRegistrationRequest) -> Result<()> {
        let registered = self.meta.register_broker(broker_registration).await;
        self.topics_changed();
        registered
    }

    async fn create_topic(&self, topic: CreatableTopic, validate_only: bool) -> Result<Uuid> {
        let name = topic.name.clone();
        let created = self.meta.create_topic(topic, validate_only).await;
        self.topics_changed();
        if created.is_ok() {
            // A log of a topic of that name deleted before is not this topic's.
            self.remove_logs(&name);
        }
        created
    }

    async fn incremental_alter_resource(&self, resource: AlterConfigsResource) -> Result<AlterConfigsResourceResponse> {
        let altered = self.meta.incremental_alter_resource(resource).await;
        self.topics_changed();
        altered
    }

    async fn delete_records(&self, topics: &[DeleteRecordsTopic]) -> Result<Vec<DeleteRecordsTopicResult>> {
        let mut out = Vec::with_capacity(topics.len());
        for topic in topics {
            let mut partitions = Vec::new();
            for p in topic.partitions.as_deref().unwrap_or_default() {
                let tp = Topition::new(topic.name.as_str(), p.partition_index);
                let (error_code, low_watermark) = match self.delete_before(&tp, p.offset).await {
                    Ok(low) => (ErrorCode::None, low),
                    Err(code) => (code, DELETE_RECORDS_INVALID_LOW_WATERMARK),
                };
                partitions.push(
                    DeleteRecordsPartitionResult::default()
                        .partition_index(p.partition_index)
                        .low_watermark(low_watermark)
                        .error_code(error_code.into()),
                );
            }
            out.push(DeleteRecordsTopicResult::default().name(topic.name.clone()).partitions(Some(partitions)));
        }
        Ok(out)
    }

    async fn delete_topic(&self, topic: &TopicId) -> Result<ErrorCode> {
        let name = match topic {
            TopicId::Name(name) => Some(name.clone()),
            TopicId::Id(_) => self
                .cached_metadata(Some(std::slice::from_ref(topic)))
                .await?
                .topics()
                .first()
                .and_then(|t| (t.error_code == i16::from(ErrorCode::None)).then(|| t.name.clone()).flatten()),
        };
        let deleted = self.meta.delete_topic(topic).await;
        self.topics_changed();
        if let (Ok(ErrorCode::None), Some(name)) = (&deleted, name) {
            self.remove_logs(&name);
        }
        deleted
    }

    async fn brokers(&self) -> Result<Vec<DescribeClusterBroker>> {
        self.meta.brokers().await
    }

    async fn produce(&self, transaction_id: Option<&str>, topition: &Topition, batch: deflated::Batch) -> Result<i64> {
        if transaction_id.is_some() {
            return Err(Error::Api(ErrorCode::InvalidRequest));
        }
        self.produce_batch(topition, batch).await
    }

    async fn fetch(
        &self,
        topition: &'_ Topition,
        offset: i64,
        _min_bytes: u32,
        max_bytes: u32,
        _isolation: IsolationLevel,
        _max_wait: Duration,
    ) -> Result<Vec<deflated::Batch>> {
        // Without transactions, everything below the high watermark is committed: both
        // isolation levels read the same.
        self.fetch_batches(topition, offset, max_bytes).await
    }

    async fn offset_stage(&self, topition: &Topition) -> Result<OffsetStage> {
        self.stage(topition).await
    }

    async fn list_offsets(
        &self,
        _isolation_level: IsolationLevel,
        offsets: &[(Topition, ListOffset)],
    ) -> Result<Vec<(Topition, ListOffsetResponse)>> {
        self.list(offsets).await
    }

    async fn offset_commit(
        &self,
        group_id: &str,
        retention_time_ms: Option<Duration>,
        offsets: &[(Topition, OffsetCommitRequest)],
    ) -> Result<Vec<(Topition, ErrorCode)>> {
        let committed = self.meta.offset_commit(group_id, retention_time_ms, offsets).await;
        self.committed.forget(group_id);
        committed
    }

    async fn offset_fetch(
        &self,
        group_id: Option<&str>,
        topics: &[Topition],
        require_stable: Option<bool>,
    ) -> Result<BTreeMap<Topition, i64>> {
        // No transaction reaches this engine, so there are never offsets pending in one and
        // `require_stable` asks nothing more.
        let Some(group) = group_id else { return self.meta.offset_fetch(group_id, topics, require_stable).await };
        if let Some(kept) = self.committed.get(group, topics) {
            return Ok(kept);
        }
        let changes = self.committed.changes();
        let all = self.meta.committed_offset_topitions(group).await?;
        let answer = super::committed::answer(&all, topics);
        self.committed.keep(group, all, changes);
        Ok(answer)
    }

    async fn committed_offset_topitions(&self, group_id: &str) -> Result<BTreeMap<Topition, i64>> {
        self.meta.committed_offset_topitions(group_id).await
    }

    async fn metadata(&self, topics: Option<&[TopicId]>) -> Result<MetadataResponse> {
        self.cached_metadata(topics).await
    }

    async fn upsert_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    ) -> Result<()> {
        self.meta.upsert_user_scram_credential(user, mechanism, credential).await
    }

    async fn delete_user_scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Result<()> {
        self.meta.delete_user_scram_credential(user, mechanism).await
    }

    async fn user_scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Result<Option<ScramCredential>> {
        self.meta.user_scram_credential(user, mechanism).await
    }

    async fn describe_config(
        &self,
        name: &str,
        resource: ConfigResource,
        keys: Option<&[String]>,
    ) -> Result<DescribeConfigsResult> {
        self.cached_config(name, resource, keys).await
    }

    async fn list_groups(&self) -> Result<Vec<NamedGroupDetail>> {
        self.meta.list_groups().await
    }

    async fn delete_groups(&self, group_ids: Option<&[String]>) -> Result<Vec<DeletableGroupResult>> {
        let deleted = self.meta.delete_groups(group_ids).await;
        self.committed.forget_all();
        deleted
    }

    async fn describe_groups(
        &self,
        group_ids: Option<&[String]>,
        include_authorized_operations: bool,
    ) -> Result<Vec<NamedGroupDetail>> {
        self.meta.describe_groups(group_ids, include_authorized_operations).await
    }

    async fn describe_topic_partitions(
        &self,
        topics: Option<&[TopicId]>,
        partition_limit: i32,
        cursor: Option<Topition>,
    ) -> Result<Vec<DescribeTopicPartitionsResponseTopic>> {
        self.meta.describe_topic_partitions(topics, partition_limit, cursor).await
    }

    async fn group_with_version(&self, group_id: &str) -> Result<Option<(GroupDetail, Version)>> {
        self.meta.group_with_version(group_id).await
    }

    async fn update_group(
        &self,
        group_id: &str,
        detail: GroupDetail,
        version: Option<Version>,
    ) -> Result<Version, UpdateError<GroupDetail>> {
        self.meta.update_group(group_id, detail, version).await
    }

    async fn init_producer(
        &self,
        transaction_id: Option<&str>,
        transaction_timeout_ms: i32,
        producer_id: Option<i64>,
        producer_epoch: Option<i16>,
    ) -> Result<ProducerIdResponse> {
        self.meta.init_producer(transaction_id, transaction_timeout_ms, producer_id, producer_epoch).await
    }

    async fn txn_add_offsets(
        &self,
        transaction_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<ErrorCode> {
        self.meta.txn_add_offsets(transaction_id, producer_id, producer_epoch, group_id).await
    }

    async fn txn_add_partitions(&self, partitions: TxnAddPartitionsRequest) -> Result<TxnAddPartitionsResponse> {
        self.meta.txn_add_partitions(partitions).await
    }

    async fn txn_offset_commit(&self, offsets: TxnOffsetCommitRequest) -> Result<Vec<TxnOffsetCommitResponseTopic>> {
        let committed = self.meta.txn_offset_commit(offsets).await;
        self.committed.forget_all();
        committed
    }

    async fn txn_end(
        &self,
        transaction_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        committed: bool,
    ) -> Result<ErrorCode> {
        let ended = self.meta.txn_end(transaction_id, producer_id, producer_epoch, committed).await;
        self.committed.forget_all();
        ended
    }

    async fn maintain(&self, now: SystemTime) -> Result<()> {
        // The store's upkeep may expire committed offsets.
        let maintained = self.meta.maintain(now).await;
        self.committed.forget_all();
        maintained
    }

    async fn maintain_transactions(&self, now: SystemTime) -> Result<()> {
        self.meta.maintain_transactions(now).await
    }

    async fn aborted_transactions(
        &self,
        topition: &Topition,
        offset: i64,
        last_stable_offset: i64,
    ) -> Result<Vec<AbortedTransaction>> {
        self.meta.aborted_transactions(topition, offset, last_stable_offset).await
    }

    async fn cluster_id(&self) -> Result<String> {
        self.meta.cluster_id().await
    }

    async fn node(&self) -> Result<i32> {
        self.meta.node().await
    }

    async fn advertised_listener(&self) -> Result<Url> {
        self.meta.advertised_listener().await
    }

    async fn ping(&self) -> Result<()> {
        self.meta.ping().await
    }
}
